"""fawmf-bench: reproducible benchmark of FAWMF (Chen et al., AAAI 2020) against
implicit-feedback matrix factorization baselines.

Importing the package has no side effects on the process (no matplotlib backend, no numba
threading layer); the command line and the runner choose them when work starts.
"""

__version__ = "0.1.0"
