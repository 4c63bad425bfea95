"""The run command's logging and option plumbing (shared with plan)."""

from __future__ import annotations

from click.testing import CliRunner

from fawmf_bench.cli import cli


def _run(tmp_path, small_config, *flags: str, command: str = "run"):
    args = [*flags, command, "--methods", "itempop", "--folds", "2", "--config", str(small_config),
            "--out", str(tmp_path / "out")]
    return CliRunner().invoke(cli, args)


def test_one_line_per_finished_unit_and_a_log_file_in_the_store(tmp_path, small_config, data_home):
    result = _run(tmp_path, small_config)
    assert result.exit_code == 0, result.output
    done = [line for line in result.stderr.splitlines() if " done " in line]
    assert len(done) == 3 and all(line.endswith(" s") for line in done)
    assert "submit" not in result.stderr
    log = (tmp_path / "out" / "store" / "fawmf-bench.log").read_text()
    assert "done synthetic/itempop/final/fold1" in log and "DEBUG" in log and "submit" in log


def test_quiet_and_verbose(tmp_path, small_config, data_home):
    quiet = _run(tmp_path, small_config, "-q")
    assert quiet.exit_code == 0 and " done " not in quiet.stderr
    verbose = CliRunner().invoke(cli, ["-v", "run", "--methods", "itempop", "--folds", "2", "--config",
                                       str(small_config), "--out", str(tmp_path / "v"), "--force"])
    assert verbose.exit_code == 0 and "submit synthetic/itempop/tune/fold0" in verbose.stderr


def test_bad_protocol_and_methods_exit_2(tmp_path, small_config):
    for command in ("run", "plan"):
        bad = CliRunner().invoke(cli, [command, "--protocol", "holdout", "--out", str(tmp_path)])
        assert bad.exit_code == 2 and "holdout" in bad.output
        unknown = CliRunner().invoke(cli, [command, "--methods", "fawmf,nope", "--out", str(tmp_path)])
        assert unknown.exit_code == 2 and "unknown method(s) nope" in unknown.output


def test_plan_and_run_share_their_options():
    run_help = CliRunner().invoke(cli, ["run", "--help"]).output
    plan_help = CliRunner().invoke(cli, ["plan", "--help"]).output
    for option in ("--dataset", "--methods", "--protocol", "--folds", "--seed", "--config", "--no-tune", "--out",
                   "--home", "--jobs", "--scheduler", "--cluster"):
        assert option in run_help and option in plan_help
