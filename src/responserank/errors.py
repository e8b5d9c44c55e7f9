"""Every error and warning class of responserank, in one module with one base each.

A :class:`ResponseRankError` is a problem with the user's input (configuration, table, cache, option). Its message
names the problem (column, value, option or file) in one line; every command-line entry point prints it as
``error: <message>`` on stderr and exits with the class's ``exit_status`` (1, or 2 for a bad configuration),
never with a traceback. Library callers catch it like any exception; the subclasses also derive from the builtin
type a caller would expect (``ValueError`` for bad values, ``RuntimeError`` for a failed backend task).

Hierarchy::

    ResponseRankError
    ├── AnalysisError              analysis inputs: missing file, inconsistent cache, unwritable folder
    │   └── FitError (ValueError)  ``responserank fit`` input
    │       └── ComparisonTableError   an unusable comparison table or column mapping
    │           └── QueryError         an unsafe or malformed ``--query``
    ├── PipelineError (ValueError) LLM pipeline configuration or data
    │   └── RewardBenchError           a RewardBench copy or score input
    ├── ConfigError (ValueError)   synthetic experiment configuration (exit status 2)
    ├── SweepError (ValueError)    LLM sweep input (exit status 2)
    ├── BackendError (RuntimeError) a task failed on a remote backend (finished trials are kept)
    └── DatasetError               a public data file that cannot be fetched or fails its checks

    ResponseRankWarning (UserWarning)
    ├── ConvergenceWarning         L-BFGS stopped before the gradient tolerance
    └── DataWarning                legal but suspicious input (e.g. strata of one comparison)
"""

from __future__ import annotations


class ResponseRankError(Exception):
    """Base of all responserank errors: bad input, reported as one line by the command-line entry points."""

    exit_status: int = 1


class AnalysisError(ResponseRankError):
    """A problem with analysis inputs (missing file, inconsistent cache …); CLIs print it as one line and exit 1."""


class FitError(AnalysisError, ValueError):
    """Bad input to ``responserank fit`` (the CLI prints it as one line and exits 1)."""


class ComparisonTableError(FitError):
    """A comparison table (or its column mapping) is unusable; the message names column and example row."""


class QueryError(ComparisonTableError):
    """An unsafe, malformed or inapplicable ``--query`` expression."""


class PipelineError(ResponseRankError, ValueError):
    """Bad LLM pipeline configuration or input data (names the option, column, value or file); exit status 1."""


class RewardBenchError(PipelineError):
    """A RewardBench copy or score input that cannot be used (names the column, row or value)."""


class ConfigError(ResponseRankError, ValueError):
    """An invalid synthetic experiment configuration; the runner prints it as one line and exits with status 2."""

    exit_status = 2


class SweepError(ResponseRankError, ValueError):
    """Bad LLM sweep input; printed as one line, exit status 2."""

    exit_status = 2


class BackendError(ResponseRankError, RuntimeError):
    """A task failed on a remote backend; the runner prints it as one line (finished trials are kept)."""


class DatasetError(ResponseRankError):
    """A data file that cannot be fetched, fails its checksum or has unexpected content (one-line message)."""


class ResponseRankWarning(UserWarning):
    """Base of all responserank warnings."""


class ConvergenceWarning(ResponseRankWarning):
    """L-BFGS stopped before the gradient fell below the tolerance."""


class DataWarning(ResponseRankWarning):
    """Legal but suspicious input (e.g. strata of a single comparison)."""
