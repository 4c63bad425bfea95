"""The figure experiments of the paper (Figures 4, 5 and 6) and the exposure-recovery check, run
by ``fawmf-bench run --experiment convergence|k-sweep|communities|exposure-recovery``.

Each writes its output under ``<store>/<dataset>/<experiment>/`` one piece at a time (one file
per learner, per (method, K), per fit), atomically, so an interrupted run resumes where it
stopped. The report layer reads the pieces back with the ``load_*`` functions and draws them
with :mod:`fawmf_bench.report.figure_plots`.

Nothing here lands where :meth:`ResultStore.records` looks (``<dataset>/<protocol>/<method>/``),
so Table 3 never sees these fits.
"""

from .communities import COMMUNITIES, community_table, load_communities, run_communities
from .convergence import CONVERGENCE, DEFAULT_LEARNERS, Learner, learners_by_label, load_convergence, run_convergence
from . import exposure_recovery
from .exposure_recovery import EXPOSURE_RECOVERY, load_exposure_recovery, run_exposure_recovery
from .k_sweep import K_METHODS, K_SWEEP, K_VALUES, load_k_sweep, run_k_sweep

EXPERIMENTS = (CONVERGENCE, K_SWEEP, COMMUNITIES, EXPOSURE_RECOVERY)

__all__ = [
    "COMMUNITIES", "CONVERGENCE", "DEFAULT_LEARNERS", "EXPERIMENTS", "EXPOSURE_RECOVERY", "K_METHODS", "K_SWEEP", "K_VALUES",
    "Learner", "community_table", "learners_by_label", "load_communities", "load_convergence", "load_k_sweep",
    "load_exposure_recovery", "run_communities", "run_exposure_recovery", "run_convergence", "run_k_sweep",
]
