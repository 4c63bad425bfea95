"""Command-line interface: a thin click group that parses options and calls the layers.

Errors that the user can fix (unknown names, missing data, bad files) exit with code 2 and a
one-line message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

LOG_FORMAT_FILE = "%(asctime)s %(levelname)s %(name)s: %(message)s"

#: where ``run`` and ``report`` write without ``--out``: a folder of its own in the current
#: directory (git-ignored in the repository), never the repository's committed ``results/``
DEFAULT_OUT = Path("fawmf-results")


class UsageProblem(click.ClickException):
    """A problem the user can fix: printed as one line, exit code 2."""

    exit_code = 2


class _Group(click.Group):
    """The command group; its --help ends with the registered methods and datasets (plugins
    included), read when the help is shown, not at import."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from .data import DataError, dataset_names
        from .models import PluginError, method_names

        for title, names in (("Methods", method_names), ("Datasets", dataset_names)):
            try:
                text = ", ".join(names())
            except (DataError, PluginError) as exc:
                text = f"(cannot list: {exc})"
            formatter.write_paragraph()
            formatter.write_text(f"{title}: {text}")


@click.group(cls=_Group)
@click.version_option(package_name="fawmf-bench")
@click.option("-v", "--verbose", count=True, help="More log lines (-v: every unit submitted).")
@click.option("-q", "--quiet", count=True, help="Fewer log lines (-q: warnings and errors only) and no progress bar.")
@click.option("--datasets", "datasets_files", multiple=True, metavar="FILE",
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A datasets.yaml of your own whose entries join the registry (repeatable; "
              "FAWMF_BENCH_DATASETS does the same).")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: int, datasets_files: tuple[Path, ...]) -> None:
    """Benchmark FAWMF against implicit-feedback matrix factorization baselines.

    Methods and datasets of installed plugins (entry points fawmf_bench.models and
    fawmf_bench.datasets) join the built-in ones; `fawmf-bench methods` lists them.
    """
    ctx.obj = {"verbosity": verbose - quiet}
    _setup_logging(verbose - quiet)
    if datasets_files:
        from .data.registry import add_registry_files

        add_registry_files(list(datasets_files))


class _NotOnTerminal(logging.Filter):
    """Per-unit progress lines go to stderr only when it is not a terminal (else: the bar)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (getattr(record, "progress", False) and sys.stderr.isatty())


def _setup_logging(verbosity: int) -> None:
    """Log lines of the package on stderr: INFO by default, DEBUG with -v, WARNING with -q."""
    logger = logging.getLogger("fawmf_bench")
    for handler in [h for h in logger.handlers if getattr(h, "_fawmf_cli", False)]:
        logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_NotOnTerminal())
    handler.setLevel(logging.DEBUG if verbosity > 0 else logging.WARNING if verbosity < 0 else logging.INFO)
    handler._fawmf_cli = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _log_to_store(store_root: Path) -> Path:
    """Append every log line (DEBUG and up, with timestamps) to ``STORE/fawmf-bench.log``."""
    logger = logging.getLogger("fawmf_bench")
    for handler in [h for h in logger.handlers if getattr(h, "_fawmf_file", False)]:
        logger.removeHandler(handler)
        handler.close()
    store_root.mkdir(parents=True, exist_ok=True)
    path = store_root / "fawmf-bench.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter(LOG_FORMAT_FILE))
    handler.setLevel(logging.DEBUG)
    handler._fawmf_file = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return path


# --- data commands (download, datasets) ---------------------------------------------------


def _data_errors(action):
    """Run ``action``; data problems the user can fix become UsageProblem (exit 2)."""
    from .data import DataError

    try:
        return action()
    except DataError as exc:
        raise UsageProblem(str(exc)) from exc


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--from", "source", type=click.Path(exists=True, path_type=Path),
              help="A local copy: a file, a folder, or a mirror folder with one sub-folder per name.")
@click.option("--home", type=click.Path(path_type=Path), help="Data home (default: FAWMF_BENCH_HOME or the user cache).")
@click.option("--force", is_flag=True, help="Rebuild (and re-download) even when cached.")
@click.option("--no-progress", is_flag=True, help="No download progress bar.")
def download(names: tuple[str, ...], source: Path | None, home: Path | None, force: bool, no_progress: bool) -> None:
    """Download, verify, binarize, filter and cache datasets (default: all that can be fetched)."""
    from .data import DataError, data_home, dataset_names, dataset_spec
    from .data import download as fetch_datasets

    def action() -> None:
        chosen = list(names) or [
            n for n in dataset_names()
            if not dataset_spec(n).is_synthetic and not (dataset_spec(n).upstream and dataset_spec(n).upstream.unavailable)
        ]
        for name in chosen:  # unknown names fail before any work
            dataset_spec(name)
        failed = []
        for name in chosen:  # every dataset is tried; the failures are listed at the end
            try:
                (data,) = fetch_datasets([name], source=source, home=home, force=force, progress=not no_progress)
            except DataError as exc:
                failed.append((name, str(exc)))
                click.echo(f"{name}: FAILED: {exc}", err=True)
                continue
            s = data.stats()
            origin = data.extra.get("source", {})
            where = f"from {origin.get('location')}" if origin else "generated"
            click.echo(f"{data.name}: {s['users']:,} users, {s['items']:,} items, {s['positives']:,} positives "
                       f"({data.raw_stats.get('ratings', 0):,} raw rows) {where}")
        click.echo(f"data home: {data_home(home)}")
        if failed:
            lines = "".join(f"\n  {name}: {why}" for name, why in failed)
            raise UsageProblem(f"{len(failed)} of {len(chosen)} dataset(s) failed:{lines}")

    _data_errors(action)


@cli.command()
@click.option("--home", type=click.Path(path_type=Path), help="Data home (default: FAWMF_BENCH_HOME or the user cache).")
def datasets(home: Path | None) -> None:
    """List the datasets with their state and statistics next to the paper's Table 1."""
    from .data import data_home, dataset_names, dataset_spec, status

    def number(value) -> str:
        return f"{value:,}" if isinstance(value, int) else "-"

    def action() -> None:
        header = f"{'name':<22} {'state':<42} {'users':>9} {'items':>8} {'positives':>11} {'raw rows':>11} | {'paper users':>11} {'items':>7} {'positives':>11}"
        click.echo(header)
        click.echo("-" * len(header))
        for name in dataset_names():
            spec, state = dataset_spec(name), status(name, home)
            s, raw, paper = state["stats"], state["raw_stats"], spec.paper
            click.echo(f"{name:<22} {state['state'][:42]:<42} {number(s.get('users')):>9} {number(s.get('items')):>8} "
                       f"{number(s.get('positives')):>11} {number(raw.get('ratings')):>11} | "
                       f"{number(paper.get('users')):>11} {number(paper.get('items')):>7} {number(paper.get('positives')):>11}")
        click.echo(f"data home: {data_home(home)}  (positives after binarizing and dropping items with < 3 interactions)")

    _data_errors(action)


@cli.command()
def methods() -> None:
    """List the methods: built-in ones and those of plugins, with their label and origin."""
    from .models import method_info, method_names
    from .models.registry import method_origin

    click.echo(f"{'name':<14} {'label':<18} origin")
    for name in sorted(method_names(), key=lambda m: method_info(m).sort_key):
        click.echo(f"{name:<14} {method_info(name).label:<18} {method_origin(name)}")


# --- experiment commands (run, plan) -------------------------------------------------------

PROTOCOL_CHOICES = ("cv", "paper")  # data.splitting.PROTOCOLS (checked equal in the tests)


def _split_names(text: str) -> list[str]:
    return [m.strip().lower() for m in text.split(",") if m.strip()]


def _parse_methods(text: str, known, default: tuple[str, ...] | list[str], what: str = "known") -> list[str]:
    """``all`` -> ``default``; else the comma-separated names, each checked against ``known``."""
    chosen = list(default) if text == "all" else _split_names(text)
    unknown = [m for m in chosen if m not in known]
    if unknown or not chosen:
        raise UsageProblem(f"unknown method(s) {', '.join(unknown) or '(none given)'}; {what}: {', '.join(known)}")
    return chosen


def run_options(command):
    """The options ``run`` and ``plan`` share (what to run, where, and on what)."""
    options = [
        click.option("--dataset", "datasets_", multiple=True,
                     help="Dataset name (repeat for several) [default: synthetic for table, ml-1m for the figures]."),
        click.option("--methods", default="all", show_default=True,
                     help="Comma-separated methods, or 'all' (k-sweep: 'all' means fawmf,eals,wmf; convergence: "
                     "learners fbgd,bgd,uniform-1x,...,itempop-25x)."),
        click.option("--protocol", type=click.Choice(PROTOCOL_CHOICES), default="cv", show_default=True,
                     help="cv (k-fold) or paper (one random 80/20 split)."),
        click.option("--folds", "n_folds", type=click.IntRange(2, 20), default=5, show_default=True),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the splits and of every model."),
        click.option("--config", "config_path", type=click.Path(path_type=Path),
                     help="Hyperparameter file (default: the packaged one)."),
        click.option("--no-tune", is_flag=True, help="Use each method's fixed params instead of searching its grid."),
        click.option("--force", is_flag=True, help="Recompute units even when stored."),
        click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
                     help="Results folder; the store lives in OUT/store (the repository's committed results: "
                     "--out results)."),
        click.option("--home", type=click.Path(path_type=Path),
                     help="Data home (default: FAWMF_BENCH_HOME or the user cache)."),
        click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
                     help="Units run in parallel local processes."),
        click.option("--scheduler", envvar="FAWMF_BENCH_SCHEDULER", metavar="ADDRESS",
                     help="Run the units on the Dask scheduler at ADDRESS (e.g. tcp://head:8786; env "
                     "FAWMF_BENCH_SCHEDULER); needs the `cluster` extra."),
        click.option("--cluster", metavar="local:N",
                     help="Run the units on a local Dask cluster of N worker processes (the `cluster` extra)."),
        click.option("--quiet", is_flag=True, help="No progress display (same as `fawmf-bench -q`)."),
        click.option("--device", default="cpu", show_default=True,
                     help="cpu (numba), cuda[:N], torch-cpu or auto (cuda when visible, else cpu): where methods "
                     "with a torch backend (fawmf's fbgd / bgd learners, exmf, wmf) fit and rank; off cpu it needs "
                     "the gpu extra."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _bench_settings(ctx: click.Context, datasets_: tuple[str, ...], methods: str, protocol: str, n_folds: int,
                    seed: int, config_path: Path | None, no_tune: bool, force: bool, home: Path | None, jobs: int,
                    scheduler: str | None, cluster: str | None, quiet: bool, device: str):
    """The run settings of a table run from the shared options (datasets checked, not loaded)."""
    from .data import resolve_name
    from .experiments.config import ConfigError, load_config
    from .experiments.executors import parse_cluster
    from .experiments.runner import RunSettings
    from .models import MODELS

    try:
        config = load_config(config_path)  # first: its plugins list may add methods
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from exc
    chosen = _parse_methods(methods, MODELS, list(MODELS))
    device = _resolve_device(device)
    if scheduler and cluster:
        raise UsageProblem("give either --scheduler (or FAWMF_BENCH_SCHEDULER) or --cluster, not both")
    if cluster:
        try:
            parse_cluster(cluster)
        except ValueError as exc:
            raise UsageProblem(str(exc)) from exc
    names = _data_errors(lambda: [resolve_name(d) for d in (datasets_ or ("synthetic",))])
    for name in names:  # devices named in the config file: check them too before any work
        for method in chosen:
            section = config.method(method, name)
            for value in {section.params.get("device", "cpu"), *section.grid.get("device", [])}:
                _resolve_device(value)
    quiet = quiet or (ctx.obj or {}).get("verbosity", 0) < 0
    if quiet:
        _setup_logging(-1)
    return RunSettings(datasets=names, methods=chosen, protocol=protocol, n_folds=n_folds, seed=seed,
                       tune=not no_tune, jobs=jobs, force=force, quiet=quiet, config=config, data_home=home,
                       scheduler=scheduler or None, cluster=cluster, device=device)


def _resolve_device(name: str) -> str:
    """--device as a concrete device, or exit 2 with one line (what to install, or no CUDA device)."""
    from .models.devices import DeviceUnavailable, resolve_device

    try:
        return resolve_device(name)
    except DeviceUnavailable as exc:
        raise UsageProblem(str(exc)) from exc


@cli.command()
@click.option("--experiment", type=click.Choice(["table", "convergence", "k-sweep", "communities", "exposure-recovery",
                                                "exposure-diagnosis"]),
              default="table",
              show_default=True, help="table: tune + all folds (Table 3); convergence / k-sweep / communities: "
              "Figures 4 / 5 / 6 (stored under OUT/store/<dataset>/<experiment>/).")
@run_options
@click.option("--epochs", type=click.IntRange(1), help="convergence: epochs per learner (default 200); "
              "communities: fixed epochs (default: a stored FAWMF tuning's best epoch, else 200).")
@click.option("--every", type=click.IntRange(1), default=5, show_default=True,
              help="convergence: evaluate on the test part every N epochs.")
@click.option("--k-values", default="10,20,40,60,80,100", show_default=True, help="k-sweep: comma-separated K values.")
@click.pass_context
def run(ctx: click.Context, experiment: str, epochs: int | None, every: int, k_values: str, **options) -> None:
    """Tune every method on fold 0's validation, then run all folds; print a Table-3-style summary.

    With --experiment convergence | k-sweep | communities, run that figure experiment instead
    (convergence and communities use the paper protocol's 80/20 split, k-sweep the cv
    protocol's fold 0); draw the figures with `fawmf-bench report`.
    """
    from .data import load_dataset, require_dataset
    from .experiments.executors import ExecutorError
    from .experiments.runner import RunFailed, run_benchmark, start_executor
    from .experiments.store import ResultStore
    from .report.tables import summary_table

    out = options["out"]
    if experiment != "table" and options["device"] != "cpu":
        raise UsageProblem("--device applies to --experiment table only; the figure experiments run on the CPU")
    if experiment != "table":
        o = options
        _run_figure_experiment(experiment, o["datasets_"] or ("ml-1m",), o["methods"], o["n_folds"], o["seed"],
                               o["config_path"], out, o["force"], o["quiet"] or (ctx.obj or {}).get("verbosity", 0) < 0,
                               o["home"], epochs, every, k_values)
        return
    settings = _bench_settings(ctx, **_shared(options))
    for name in settings.datasets:  # unknown or not downloaded: one line, before anything starts
        _data_errors(lambda: require_dataset(name, home=settings.data_home))
    store = ResultStore(out / "store")
    _log_to_store(store.root)
    try:
        executor = _data_errors(lambda: start_executor(settings, store))  # a local cluster starts now
        with executor:
            for name in settings.datasets:  # fail early, before any unit, when a dataset is missing
                _data_errors(lambda: load_dataset(name, home=settings.data_home))
            records = run_benchmark(settings, store, executor)
    except ExecutorError as exc:
        raise UsageProblem(str(exc)) from exc
    except RunFailed as exc:
        raise click.ClickException(str(exc)) from exc
    table = summary_table(records)
    click.echo(table.to_string(index=False))


def _shared(options: dict) -> dict:
    """The shared options that describe a table run (``out`` aside)."""
    return {k: v for k, v in options.items() if k != "out"}


@cli.command()
@run_options
@click.option("--workers", type=click.IntRange(1), multiple=True,
              help="Project the wall time on N single-threaded workers (repeat for several) "
              "[default: --jobs, or the --cluster size].")
@click.option("--no-estimate", is_flag=True, help="List the units only (no calibration, no cost).")
@click.option("--recalibrate", is_flag=True, help="Time the methods again instead of using this machine's cache.")
@click.option("--units/--no-units", "list_units", default=True, show_default=True,
              help="List every unit (to run, stored, after tuning) before the summary.")
@click.pass_context
def plan(ctx: click.Context, workers: tuple[int, ...], no_estimate: bool, recalibrate: bool, list_units: bool,
         **options) -> None:
    """What `run` (same options) would execute, what is stored, and what it would cost.

    Costs are single-thread CPU-seconds from a cost model calibrated on this machine (a few
    timed epochs of each method on a sample of the dataset, scaled by the paper's Table-2
    complexity terms; cached under DATA_HOME/costmodel). Tuning units may stop early, so
    their cost (and that of finals not yet tuned) is an upper bound.
    """
    from .data import data_home, load_dataset
    from .experiments import plan as planning
    from .experiments.costmodel import CostModel
    from .experiments.executors import parse_cluster
    from .experiments.store import ResultStore

    settings = _bench_settings(ctx, **_shared(options))
    planned = planning.plan_units(settings, ResultStore(options["out"] / "store"))
    if not no_estimate:
        model = CostModel(data_home(settings.data_home) / "costmodel", recalibrate=recalibrate)
        planned = _data_errors(lambda: planning.estimate(
            planned, model, lambda name: load_dataset(name, home=settings.data_home)))
    if list_units:
        for item in planned:
            cost = f"{item.seconds:10.1f} s" if item.seconds is not None else ""
            params = ",".join(f"{k}={v}" for k, v in item.unit.params) if item.status != planning.AFTER_TUNING else "?"
            click.echo(f"{item.status:<12} {item.label:<44} {cost}  {params}")
    table = planning.summary(planned)
    if table.empty:
        click.echo("nothing to plan")
        return
    if no_estimate:
        table = table.drop(columns=["tune CPU-s", "folds CPU-s"])
    click.echo(table.to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    counts = {s: sum(p.status == s for p in planned) for s in (planning.RUN, planning.STORED, planning.AFTER_TUNING)}
    click.echo(f"units: {counts[planning.RUN]} to run, {counts[planning.STORED]} stored, "
               f"{counts[planning.AFTER_TUNING]} final(s) decided after tuning")
    if no_estimate:
        return
    total = sum(p.seconds or 0.0 for p in planned)
    click.echo(f"total: {total:,.0f} CPU-s = {total / 3600:,.2f} CPU-hours (single-thread; tuning may stop early: "
               "an upper bound)")
    default = parse_cluster(settings.cluster) if settings.cluster else settings.jobs
    for n in workers or (default,):
        wall = planning.projected_wall_seconds(planned, n)
        click.echo(f"projected wall time on {n} worker(s): {wall / 3600:,.2f} h")


def _run_figure_experiment(experiment: str, datasets_: tuple[str, ...], methods: str, n_folds: int, seed: int,
                           config_path: Path | None, out: Path, force: bool, quiet: bool, home: Path | None,
                           epochs: int | None, every: int, k_values: str) -> None:
    """``run --experiment convergence|k-sweep|communities``: one figure experiment per dataset."""
    from .data import load_dataset, resolve_name
    from .experiments import figure_experiments as fx
    from .experiments.config import ConfigError, load_config
    from .models import MODELS

    if experiment == "exposure-recovery":   # synthetic data of growing sparsity; no dataset, no config
        progress = None if quiet else (lambda label: click.echo(f"  {label}", err=True))
        seeds = tuple(seed + s for s in range(len(fx.exposure_recovery.SEEDS)))
        frame = fx.run_exposure_recovery(out / "store", seeds=seeds, force=force, progress=progress)
        table = frame.groupby(["density", "model"])[["auc", "spearman"]].mean().unstack("model")
        click.echo(f"exposure recovery, mean over seeds {list(seeds)}\n{table.round(3).to_string()}")
        return
    if experiment == "exposure-diagnosis":   # FAWMF refit with each dataset's cv choice, exposure measured
        from .experiments.figure_experiments.exposure_diagnosis import run_exposure_diagnosis
        for name in _data_errors(lambda: [resolve_name(d) for d in datasets_]):
            try:
                piece = run_exposure_diagnosis(out / "store", name, seed=seed, data_home=home, force=force,
                                               progress=None if quiet else (lambda s: click.echo(f"  {s}", err=True)))
            except ValueError as exc:
                raise UsageProblem(str(exc)) from exc
            click.echo(f"{name}: {piece['summary']}")
        return
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from exc
    # k-sweep: --methods names models; convergence: learners (checked by learners_by_label)
    chosen = (tuple(_parse_methods(methods, MODELS, fx.K_METHODS)) if experiment == "k-sweep"
              else fx.K_METHODS if methods == "all" else tuple(_split_names(methods)))
    try:
        ks = tuple(int(k) for k in k_values.split(",") if k.strip())
    except ValueError:
        raise UsageProblem(f"--k-values must be comma-separated integers, got {k_values!r}") from None
    names = _data_errors(lambda: [resolve_name(d) for d in datasets_])
    for name in names:  # fail early, before any work, when a dataset is missing
        _data_errors(lambda: load_dataset(name, home=home))
    store = out / "store"
    progress = None if quiet else (lambda label: click.echo(f"  {label}", err=True))
    common = dict(seed=seed, config=config, data_home=home, force=force, progress=progress)
    for name in names:
        try:
            if experiment == "convergence":
                learners = fx.DEFAULT_LEARNERS if methods == "all" else fx.learners_by_label(list(chosen))
                frame = fx.run_convergence(store, name, epochs=epochs or 200, every=every, learners=learners, **common)
                best = frame.groupby(["label", "scoring"])["pre@5"].max().unstack()
                click.echo(f"{name}: best test pre@5 per learner over {epochs or 200} epochs\n{best.to_string()}")
            elif experiment == "k-sweep":
                frame = fx.run_k_sweep(store, name, methods=chosen, k_values=ks, n_folds=n_folds, **common)
                click.echo(f"{name}: test pre@5 by K (cv fold 0)\n"
                           f"{frame.pivot_table(index='factors', columns='method', values='pre@5').to_string()}")
            else:
                frame = fx.run_communities(store, name, epochs=epochs, **common)
                click.echo(frame.drop(columns="top_items").to_string(index=False))
        except ValueError as exc:
            raise UsageProblem(str(exc)) from exc
        click.echo(f"stored under {store / name / experiment}; draw it with `fawmf-bench report --out {out}`")


# --- report command -------------------------------------------------------------------------


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Folder for the tables, figures and report.html (the repository's committed results: --out results).")
@click.option("--store", "store_root", type=click.Path(path_type=Path),
              help="Result store to read (default: OUT/store).")
@click.option("--target", default="fawmf", show_default=True, help="Method whose Impv% and significance Table 3 shows.")
@click.option("--home", type=click.Path(path_type=Path), help="Data home (default: FAWMF_BENCH_HOME or the user cache).")
def report(out: Path, store_root: Path | None, target: str, home: Path | None) -> None:
    """Write Tables 1-3 (CSV + Markdown), the figures (PNG + SVG) and report.html from the store."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a display (set here, not at import: notebooks keep theirs)
    from .report.build import build_report

    store_root = store_root or out / "store"
    if not store_root.is_dir():
        raise UsageProblem(f"no result store at {store_root}; run `fawmf-bench run --out {out}` first")
    try:
        written = build_report(store_root, out, home=home, target=target.lower())
    except ValueError as exc:
        raise UsageProblem(str(exc)) from exc
    for path in written:
        click.echo(str(path))


# --- regression command ---------------------------------------------------------------------


@cli.command()
@click.option("--update", is_flag=True,
              help="Rerun the suite and overwrite the references (deliberate; review and commit the diff).")
@click.option("--variation-seeds", type=click.IntRange(0, 20), default=0, show_default=True,
              help="With --update: re-measure tolerances from N other model seeds and N other split seeds.")
@click.option("--methods", default="all", show_default=True, help="Comma-separated methods, or 'all'.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Suite file (default: the packaged regression.yaml).")
@click.option("--references", type=click.Path(path_type=Path), help="Reference folder (default: results/regression in the repository).")
@click.option("--all-rows", is_flag=True, help="Print every comparison, not only drops, improvements and missing ones.")
@click.option("--quiet", is_flag=True, help="No per-unit progress lines.")
@click.option("--home", type=click.Path(path_type=Path), help="Data home (default: FAWMF_BENCH_HOME or the user cache).")
def regress(update: bool, variation_seeds: int, methods: str, config_path: Path | None, references: Path | None,
            all_rows: bool, quiet: bool, home: Path | None) -> None:
    """Run the fixed regression benchmark and compare each method's metrics with the references.

    Exit code 1 (with the table) when a metric drops beyond its tolerance; improvements are
    reported and exit 0. Real datasets missing from the data home are fetched first (from
    FAWMF_BENCH_MIRROR when set).
    """
    import time

    from .data import dataset_spec
    from .data import download as fetch_datasets
    from .experiments import regression as rg
    from .experiments.config import ConfigError

    try:
        config = rg.load_suite_config(config_path)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from exc
    chosen = _parse_methods(methods, config.methods.methods, list(config.methods.methods), what="in the suite")
    if update and methods != "all":
        raise UsageProblem("--update refreshes every method; drop --methods")
    folder = references or rg.DEFAULT_REFERENCES
    real = [d for d in config.datasets if not _data_errors(lambda: dataset_spec(d)).is_synthetic]
    _data_errors(lambda: fetch_datasets(real, home=home, progress=False))

    started = time.perf_counter()

    def progress(unit) -> None:
        if not quiet:
            click.echo(f"  [{time.perf_counter() - started:6.0f} s] {unit.label}", err=True)

    if update:
        if variation_seeds == 0 and not (folder / rg.REFERENCE_FILE).exists():
            raise UsageProblem(f"no references at {folder} to keep tolerances from; use --variation-seeds 3")
        refs = rg.refresh_references(config, folder, variation_seeds, data_home=home, progress=progress)
        click.echo(refs.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        click.echo(f"wrote {folder / rg.REFERENCE_FILE}; review the diff and commit it")
        return
    try:
        refs, meta = rg.read_references(folder)
    except FileNotFoundError as exc:
        raise UsageProblem(str(exc)) from exc
    refs = refs[refs["method"].isin(chosen) & refs["dataset"].isin(list(config.datasets))]
    folds = rg.run_suite(config, chosen, data_home=home, progress=progress)
    if meta.get("config_sha1") not in (None, config.text_sha1):
        click.echo(f"note: {config.source} differs from the file the references were made with", err=True)
    for dataset, checksum in folds.groupby("dataset")["dataset_checksum"].first().items():
        if meta.get("datasets", {}).get(dataset, {}).get("checksum") not in (None, checksum):
            click.echo(f"note: dataset {dataset} differs from the one the references were made with", err=True)
    comparison = rg.compare(rg.fold_means(folds, config.metrics), refs)
    flagged = comparison["status"] != "ok"
    if all_rows or flagged.any():
        click.echo(rg.format_table(comparison, None if all_rows else ["drop", "improved", "missing", "new"]))
    click.echo(rg.summary_line(comparison) + f" (suite {folds['fit_seconds'].sum():.0f} s of fitting)")
    if comparison["status"].eq("improved").any():
        click.echo("improvements beyond tolerance: refresh the references deliberately with `fawmf-bench regress --update`")
    if rg.failed(comparison):
        click.echo("REGRESSION: metrics dropped beyond tolerance (or were not measured)", err=True)
        sys.exit(1)


def main() -> None:
    from ._threading import prefer_workqueue_layer
    from .models import PluginError

    prefer_workqueue_layer()
    try:
        cli(prog_name="fawmf-bench")
    except PluginError as exc:  # a plugin that cannot load: one line, exit 2
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    sys.exit(main())
