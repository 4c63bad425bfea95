"""PyTorch backends of the models (imported only when a model is fitted with a torch device).

The model classes stay the public API (``FAWMF(device="cuda")``); these modules hold the
device code, as implicit keeps ``implicit.gpu`` apart from ``implicit.cpu``. Sparse passes over
the positives are CSR sparse-dense products (:class:`~._sparse.DeviceCSR`), never a dense n x m.
"""
