"""The one exception type of the LLM pipeline."""

from __future__ import annotations


class PipelineError(ValueError):
    """Bad configuration or input data (names the option, column, value or file).

    The command-line entry points print it as a single line and exit with status 1.
    """
