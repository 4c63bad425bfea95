"""Tests fit models directly, as the runner does: prefer numba's workqueue layer the same way
(fawmf_bench._threading; the user's NUMBA_THREADING_LAYER still wins)."""

from fawmf_bench._threading import prefer_workqueue_layer

prefer_workqueue_layer()
