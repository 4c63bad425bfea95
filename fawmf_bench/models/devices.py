"""Where a model computes: the numba CPU path (default) or PyTorch on a device.

Device names (the ``device`` hyperparameter of models with a torch backend, and ``run --device``):

- ``cpu``: the numba / NumPy path (default; torch is never imported);
- ``cuda`` or ``cuda:N``: PyTorch on a CUDA device (install the ``gpu`` extra);
- ``torch-cpu``: the PyTorch code on the CPU (for checking the torch path without a GPU);
- ``auto``: ``cuda`` when torch is installed and a CUDA device is visible, else ``cpu``.

This module imports torch only inside functions, and only for non-``cpu`` names.
"""

from __future__ import annotations

import importlib.util
import re

DEVICES = ("cpu", "cuda", "auto", "torch-cpu")
_CUDA = re.compile(r"^cuda(:\d+)?$")
INSTALL_HINT = 'install PyTorch: pip install "fawmf-bench[gpu]" (see README, "GPU backend")'


class DeviceUnavailable(ValueError):
    """The requested device cannot be used here (no torch, no CUDA device, unknown name)."""


class DeviceOutOfMemory(MemoryError):
    """A torch fit or evaluation ran out of device memory; ``needed_bytes`` is the estimate."""

    def __init__(self, message: str, needed_bytes: float) -> None:
        super().__init__(message)
        self.needed_bytes = needed_bytes


def torch_installed() -> bool:
    """True when PyTorch can be imported (checked without importing it)."""
    return importlib.util.find_spec("torch") is not None


class DeviceName:
    """Parameter constraint (see :mod:`fawmf_bench.models.base`): a known device name."""

    def accepts(self, value: object) -> bool:
        try:
            check_device_name(value)  # type: ignore[arg-type]
        except DeviceUnavailable:
            return False
        return True

    def __str__(self) -> str:
        return "a device name (cpu, cuda, cuda:N, torch-cpu, auto)"


DEVICE_NAME = DeviceName()


def check_device_name(name: str) -> str:
    """The name lower-cased, or DeviceUnavailable when it is not a device name."""
    value = str(name).strip().lower()
    if value in DEVICES or _CUDA.match(value):
        return value
    raise DeviceUnavailable(f"unknown device {name!r}; use one of cpu, cuda, cuda:N, torch-cpu, auto")


def resolve_device(name: str) -> str:
    """The concrete device for ``name``: "cpu" (numba), "torch-cpu" or "cuda[:N]".

    Raises :class:`DeviceUnavailable` with one line saying what to install, or that no CUDA
    device is visible, before any work starts.
    """
    value = check_device_name(name)
    if value == "cpu":
        return "cpu"
    if value == "auto":
        if not torch_installed():
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch_installed():
        raise DeviceUnavailable(f"device {value!r} needs PyTorch, which is not installed; {INSTALL_HINT}")
    if value == "torch-cpu":
        return value
    import torch

    if not torch.cuda.is_available():
        raise DeviceUnavailable(
            f"device {value!r}: no CUDA device is visible to PyTorch {torch.__version__} "
            f"(CUDA build: {torch.version.cuda or 'no, a CPU-only build'}); use --device cpu or auto")
    index = int(value.split(":")[1]) if ":" in value else 0
    if index >= torch.cuda.device_count():
        raise DeviceUnavailable(f"device {value!r}: only {torch.cuda.device_count()} CUDA device(s) visible")
    return value


def torch_device(resolved: str):
    """The ``torch.device`` of a resolved non-numba device name. On ``torch-cpu``, torch's
    intra-op threads follow numba's thread count, which the runner limits per unit (torch's own
    default, every core, oversubscribes a machine running several units)."""
    import torch

    if resolved == "torch-cpu":
        import numba

        torch.set_num_threads(numba.get_num_threads())
        return torch.device("cpu")
    return torch.device(resolved)


def free_device_bytes(resolved: str) -> float:
    """Free memory on a CUDA device (inf for torch-cpu: the OS decides)."""
    if not resolved.startswith("cuda"):
        return float("inf")
    import torch

    free, _ = torch.cuda.mem_get_info(torch_device(resolved))
    return float(free)


class TorchBacked:
    """Mixin of a Recommender whose fit may run on a torch backend (``self._backend``, set by
    ``fit``; None on the numba path). The backend holds the parameters on the device during the
    fit (best-epoch snapshots stay there too) and hands them back as NumPy at the end; after the
    fit it keeps scoring on the device, so evaluation can rank there."""

    _backend = None

    @property
    def scoring_device(self) -> str:
        """Where :meth:`score` computes: the fit's torch device, or "cpu" (NumPy)."""
        return self.device_ if self._backend is not None else "cpu"

    def score_tensor(self, users, scoring: str | None = None):
        """The model's scores of ``users`` as a tensor on its torch device (torch fits only)."""
        scoring = scoring or getattr(self, "scoring_", None) or self.scorings[0]
        if scoring not in self.scorings:
            raise ValueError(f"{type(self).__name__}: unknown scoring {scoring!r}; known: {self.scorings}")
        if self._backend is None:
            raise ValueError(f"{type(self).__name__}: score_tensor needs a fit on a torch device")
        return self._backend.score(users, scoring)

    def _state(self) -> dict:
        if self._backend is not None:
            return {"_device_params": self._backend.snapshot()}
        return super()._state()

    def _set_state(self, state: dict) -> None:
        if "_device_params" in state:
            self._backend.restore(state["_device_params"])
        else:
            super()._set_state(state)

    def _take_backend_parameters(self) -> None:
        """Copy the backend's parameters into the fitted NumPy attributes (end of fit)."""
        for key, value in self._backend.to_numpy().items():
            setattr(self, key + "_", value)
