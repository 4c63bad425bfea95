"""fawmf-bench: reproducible benchmark of FAWMF (Chen et al., AAAI 2020) against
implicit-feedback matrix factorization baselines."""

__version__ = "0.1.0"
