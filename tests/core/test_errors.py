"""The error family: one base, one-line CLI reports with the class's exit status."""

from __future__ import annotations

import argparse
import inspect

import pytest

from responserank import errors
from responserank.reporting import run_cli

ERRORS = [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, BaseException)]


def test_every_error_and_warning_has_the_family_base():
    for cls in ERRORS:
        base = errors.ResponseRankWarning if issubclass(cls, Warning) else errors.ResponseRankError
        assert issubclass(cls, base), cls


def test_library_callers_can_catch_the_builtin_type():
    with pytest.raises(ValueError):
        raise errors.QueryError("--query 'x': unknown column")
    with pytest.raises(RuntimeError):
        raise errors.BackendError("task 3 failed")


def _parser(error: Exception) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="demo")

    def handler(args):
        raise error

    parser.set_defaults(handler=handler)
    return parser


@pytest.mark.parametrize(
    ("error", "status"),
    [(errors.FitError("column 'rt' has NaN in row 3"), 1), (errors.ConfigError("num_trials must be > 0"), 2)],
)
def test_run_cli_reports_one_line_with_the_exit_status(error, status, capsys):
    assert run_cli(_parser(error), []) == status
    err = capsys.readouterr().err
    assert err == f"error: {error}\n"


def test_run_cli_does_not_swallow_programming_errors():
    with pytest.raises(KeyError):
        run_cli(_parser(KeyError("bug")), [])
