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
@click.option("--dataset", "datasets_", multiple=True, default=["synthetic"], show_default=True,
              help="Dataset name (repeat for several).")
@click.option("--methods", default="all", show_default=True, help="Comma-separated methods, or 'all'.")
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
def run(datasets_: tuple[str, ...], methods: str, protocol: str, n_folds: int, seed: int, config_path: Path | None,
        jobs: int, out: Path, no_tune: bool, force: bool, quiet: bool, home: Path | None) -> None:
    """Tune every method on fold 0's validation, then run all folds; print a Table-3-style summary."""
    from .data import load_dataset, resolve_name
    from .experiments.config import ConfigError, load_config
    from .experiments.runner import PROTOCOLS, RunFailed, RunSettings, run_benchmark
    from .experiments.store import ResultStore
    from .models import MODELS
    from .report.tables import summary_table

    if protocol not in PROTOCOLS:
        raise UsageProblem(f"unknown protocol {protocol!r}; known: {', '.join(PROTOCOLS)}")
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


def main() -> None:
    cli(prog_name="fawmf-bench")


if __name__ == "__main__":
    sys.exit(main())
