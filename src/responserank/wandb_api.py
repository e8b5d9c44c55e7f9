"""Opening the wandb public API with one clear error when wandb is missing, not logged in or unreachable.

``collect`` takes an ``api`` object (anything with ``runs(path, filters=...)``) so that tests can pass a fake;
:func:`open_api` builds the real one. Errors raised while talking to wandb are turned into one-line
:class:`~responserank.reporting.AnalysisError` messages by :func:`wandb_errors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from responserank.errors import AnalysisError

LOGIN_HINT = "run 'wandb login' or set WANDB_API_KEY"


def _error_types() -> tuple[type[BaseException], ...]:
    types: list[type[BaseException]] = [OSError]  # ConnectionError, TimeoutError, …
    with contextlib.suppress(ImportError):
        import requests

        types.append(requests.exceptions.RequestException)
    with contextlib.suppress(ImportError):
        import wandb.errors

        types.append(wandb.errors.Error)
    return tuple(types)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}".rstrip(": ")


@contextlib.contextmanager
def wandb_errors(what: str) -> Iterator[None]:
    """Turn wandb / network errors raised inside the block into one AnalysisError naming ``what``."""
    try:
        yield
    except AnalysisError:
        raise
    except _error_types() as error:
        raise AnalysisError(
            f"wandb request failed while {what}: {_first_line(error)} ({LOGIN_HINT}; "
            "check the network and the project name)"
        ) from error


def open_api(timeout: float = 30.0):
    """The real ``wandb.Api``; one clear AnalysisError when wandb is not installed, not logged in or unreachable."""
    try:
        import wandb
    except ImportError as error:
        raise AnalysisError(
            "wandb is not installed (pip install wandb); 'generate' works without it"
        ) from error
    try:
        return wandb.Api(timeout=int(timeout))
    except AnalysisError:
        raise
    except _error_types() as error:
        raise AnalysisError(f"cannot connect to wandb: {_first_line(error)} ({LOGIN_HINT})") from error
