"""Command-line interface: a thin click group that parses options and calls the layers.

Errors that the user can fix (unknown names, missing data, bad files) exit with code 2 and a
one-line message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


class UsageProblem(click.ClickException):
    """A problem the user can fix: printed as one line, exit code 2."""

    exit_code = 2


@click.group()
@click.version_option(package_name="fawmf-bench")
def cli() -> None:
    """Benchmark FAWMF against implicit-feedback matrix factorization baselines."""


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
    from .data import data_home, dataset_names, dataset_spec
    from .data import download as fetch_datasets

    def action() -> None:
        chosen = list(names) or [
            n for n in dataset_names()
            if not dataset_spec(n).is_synthetic and not (dataset_spec(n).upstream and dataset_spec(n).upstream.unavailable)
        ]
        for name in chosen:
            (data,) = fetch_datasets([name], source=source, home=home, force=force, progress=not no_progress)
            s = data.stats()
            origin = data.extra.get("source", {})
            where = f"from {origin.get('location')}" if origin else "generated"
            click.echo(f"{data.name}: {s['users']:,} users, {s['items']:,} items, {s['positives']:,} positives "
                       f"({data.raw_stats.get('ratings', 0):,} raw rows) {where}")
        click.echo(f"data home: {data_home(home)}")

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


# --- experiment commands (run) --------------------------------------------------------------


@cli.command()
@click.option("--experiment", type=click.Choice(["table", "convergence", "k-sweep", "communities", "exposure-recovery",
                                                "exposure-diagnosis"]),
              default="table",
              show_default=True, help="table: tune + all folds (Table 3); convergence / k-sweep / communities: "
              "Figures 4 / 5 / 6 (stored under OUT/store/<dataset>/<experiment>/).")
@click.option("--dataset", "datasets_", multiple=True,
              help="Dataset name (repeat for several) [default: synthetic for table, ml-1m for the figures].")
@click.option("--methods", default="all", show_default=True,
              help="Comma-separated methods, or 'all' (k-sweep: 'all' means fawmf,eals,wmf; convergence: "
              "learners fbgd,bgd,uniform-1x,...,itempop-25x).")
@click.option("--protocol", default="cv", show_default=True, help="cv (k-fold) or paper (one random 80/20 split).")
@click.option("--folds", "n_folds", type=click.IntRange(2, 20), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the splits and of every model.")
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="Hyperparameter file (default: the packaged one).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True, help="Units run in parallel processes.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Results folder; the store lives in OUT/store.")
@click.option("--no-tune", is_flag=True, help="Use each method's fixed params instead of searching its grid.")
@click.option("--force", is_flag=True, help="Recompute units even when stored.")
@click.option("--quiet", is_flag=True, help="No progress display.")
@click.option("--home", type=click.Path(path_type=Path), help="Data home (default: FAWMF_BENCH_HOME or the user cache).")
@click.option("--epochs", type=click.IntRange(1), help="convergence: epochs per learner (default 200); "
              "communities: fixed epochs (default: a stored FAWMF tuning's best epoch, else 200).")
@click.option("--every", type=click.IntRange(1), default=5, show_default=True,
              help="convergence: evaluate on the test part every N epochs.")
@click.option("--k-values", default="10,20,40,60,80,100", show_default=True, help="k-sweep: comma-separated K values.")
def run(datasets_: tuple[str, ...], methods: str, protocol: str, n_folds: int, seed: int, config_path: Path | None,
        jobs: int, out: Path, no_tune: bool, force: bool, quiet: bool, home: Path | None, experiment: str,
        epochs: int | None, every: int, k_values: str) -> None:
    """Tune every method on fold 0's validation, then run all folds; print a Table-3-style summary.

    With --experiment convergence | k-sweep | communities, run that figure experiment instead
    (convergence and communities use the paper protocol's 80/20 split, k-sweep the cv
    protocol's fold 0); draw the figures with `fawmf-bench report`.
    """
    from .data import load_dataset, resolve_name
    from .experiments.config import ConfigError, load_config
    from .experiments.runner import PROTOCOLS, RunFailed, RunSettings, run_benchmark
    from .experiments.store import ResultStore
    from .models import MODELS
    from .report.tables import summary_table

    if protocol not in PROTOCOLS:
        raise UsageProblem(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
    datasets_ = datasets_ or (("synthetic",) if experiment == "table" else ("ml-1m",))
    if experiment != "table":
        _run_figure_experiment(experiment, datasets_, methods, n_folds, seed, config_path, out, force, quiet, home,
                               epochs, every, k_values)
        return
    chosen = list(MODELS) if methods == "all" else [m.strip().lower() for m in methods.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in MODELS]
    if unknown or not chosen:
        raise UsageProblem(f"unknown method(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(MODELS)}")
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from exc
    names = _data_errors(lambda: [resolve_name(d) for d in datasets_])
    for name in names:  # fail early, before any work, when a dataset is missing
        _data_errors(lambda: load_dataset(name, home=home))
    settings = RunSettings(datasets=names, methods=chosen, protocol=protocol, n_folds=n_folds, seed=seed,
                           tune=not no_tune, jobs=jobs, force=force, quiet=quiet, config=config, data_home=home)
    try:
        records = run_benchmark(settings, ResultStore(out / "store"))
    except RunFailed as exc:
        raise click.ClickException(str(exc)) from exc
    table = summary_table(records)
    click.echo(table.to_string(index=False))


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
    chosen = fx.K_METHODS if methods == "all" else tuple(m.strip().lower() for m in methods.split(",") if m.strip())
    unknown = [m for m in chosen if m not in MODELS]
    if experiment == "k-sweep" and (unknown or not chosen):  # convergence: --methods names learners
        raise UsageProblem(f"unknown method(s) {', '.join(unknown) or '(none given)'}; known: {', '.join(MODELS)}")
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
@click.option("--out", type=click.Path(path_type=Path), default=Path("results"), show_default=True,
              help="Folder for the tables, figures and report.html.")
@click.option("--store", "store_root", type=click.Path(path_type=Path),
              help="Result store to read (default: OUT/store).")
@click.option("--target", default="fawmf", show_default=True, help="Method whose Impv% and significance Table 3 shows.")
@click.option("--home", type=click.Path(path_type=Path), help="Data home (default: FAWMF_BENCH_HOME or the user cache).")
def report(out: Path, store_root: Path | None, target: str, home: Path | None) -> None:
    """Write Tables 1-3 (CSV + Markdown), the figures (PNG + SVG) and report.html from the store."""
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
    chosen = list(config.methods.methods) if methods == "all" else [m.strip().lower() for m in methods.split(",") if m.strip()]
    unknown = [m for m in chosen if m not in config.methods.methods]
    if unknown or not chosen:
        raise UsageProblem(f"unknown method(s) {', '.join(unknown) or '(none given)'}; in the suite: {', '.join(config.methods.methods)}")
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
    cli(prog_name="fawmf-bench")


if __name__ == "__main__":
    sys.exit(main())
