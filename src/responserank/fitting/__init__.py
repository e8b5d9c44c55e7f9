"""Learn utilities from your own comparison table: ``responserank.fit`` and ``responserank fit``.

* :mod:`.table` — read and validate a comparison table (CSV / Parquet / JSONL) into arrays.
* :mod:`.splits` — repeated stratified K-fold splits with nested training subsamples.
* :mod:`.engine` — batched MAP fits of item utilities (or a linear feature model) with the core losses.
* :mod:`.evaluate` — held-out accuracy and log-likelihood, jackknife standard errors, paired tests.
* :mod:`.api` — :func:`fit`, which ties them together; :mod:`.report` writes the results folder.
* :mod:`.cli` — the ``fit`` subcommand of ``responserank`` / ``python -m responserank``.
"""

from responserank.errors import ComparisonTableError, DataWarning, FitError
from responserank.fitting.api import FitResult, fit
from responserank.fitting.engine import METHODS, Problem, Settings, centre, fit_utilities
from responserank.fitting.table import Columns, Comparisons, prepare_comparisons, read_table

__all__ = [
    "METHODS",
    "Columns",
    "ComparisonTableError",
    "Comparisons",
    "DataWarning",
    "FitError",
    "FitResult",
    "Problem",
    "Settings",
    "centre",
    "fit",
    "fit_utilities",
    "prepare_comparisons",
    "read_table",
]
