"""What every torch backend does with its parameters: the best epoch's copy, its restore, and
the export to NumPy (the model class keeps the NumPy arrays, the backend the device tensors)."""

from __future__ import annotations

import numpy as np
import torch


class DeviceParameters:
    """Mixin for a backend whose parameters are ``self.params`` (name -> tensor on its device).

    ``version`` counts restores (and a backend's own steps, where it keeps caches of derived
    quantities keyed on it)."""

    params: dict[str, torch.Tensor]
    version: int = 0

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of every parameter (the monitor keeps the best epoch's)."""
        return {key: a.clone() for key, a in self.params.items()}

    def restore(self, state: dict[str, torch.Tensor]) -> None:
        """Put a :meth:`snapshot` back in place (the tensors are copied into the current ones)."""
        for key, a in state.items():
            self.params[key].copy_(a)
        self.version += 1

    def to_numpy(self) -> dict[str, np.ndarray]:
        """Every parameter as a NumPy array on the host."""
        return {key: a.cpu().numpy().copy() for key, a in self.params.items()}
