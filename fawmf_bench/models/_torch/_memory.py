"""Device-memory checks shared by the torch backends: a clear error before any work when the
estimate exceeds the free memory, and out-of-memory errors during work translated to it."""

from __future__ import annotations

from typing import NoReturn

import torch

from ..devices import DeviceOutOfMemory


def check_fits(needed_bytes: float, free_bytes: float, device: str) -> None:
    """DeviceOutOfMemory before any work when the estimate exceeds the free device memory."""
    if needed_bytes > free_bytes:
        raise DeviceOutOfMemory(f"needs about {needed_bytes / 2**30:.2f} GiB of device memory, "
                                f"{free_bytes / 2**30:.2f} GiB free on {device}", needed_bytes)


def reraise(error: BaseException, device: torch.device, needed_bytes: float) -> NoReturn:
    """``error`` as DeviceOutOfMemory when it is an out-of-memory error, else unchanged."""
    if isinstance(error, torch.cuda.OutOfMemoryError) or "out of memory" in str(error).lower():
        raise DeviceOutOfMemory(f"ran out of memory on {device}: needs about "
                                f"{needed_bytes / 2**30:.2f} GiB ({error})", needed_bytes) from error
    raise error
