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


def main() -> None:
    cli(prog_name="fawmf-bench")


if __name__ == "__main__":
    sys.exit(main())
