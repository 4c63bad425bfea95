"""Command-line interface: a thin click group that parses options and calls the layers.

Errors that the user can fix (unknown names, missing data, bad files) exit with code 2 and a
one-line message; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys

import click


class UsageProblem(click.ClickException):
    """A problem the user can fix: printed as one line, exit code 2."""

    exit_code = 2


@click.group()
@click.version_option(package_name="fawmf-bench")
def cli() -> None:
    """Benchmark FAWMF against implicit-feedback matrix factorization baselines."""


# --- data commands (download, datasets) ---------------------------------------------------
# (filled in by the data layer work)


def main() -> None:
    cli(prog_name="fawmf-bench")


if __name__ == "__main__":
    sys.exit(main())
