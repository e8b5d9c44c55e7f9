"""Real preference data with response times, fetched on first use (in the style of ``sklearn.datasets.fetch_*``).

:func:`load_clithero` returns the Clithero (2018) snack-choice study. The CSV is downloaded once from its public
source repository, its SHA-256 is checked, and it is kept in a cache folder:

* ``cache_dir=`` argument, else the ``RESPONSERANK_DATA`` environment variable, else the user cache folder of
  :func:`platformdirs.user_cache_dir` (``~/.cache/responserank`` on Linux); files go to ``<that>/clithero/``;
* a local copy is used instead with ``path=`` or the ``RESPONSERANK_CLITHERO`` environment variable (no
  download; the file's columns and values are still validated); ``RESPONSERANK_CLITHERO_PARAMS`` likewise for
  :func:`load_clithero_ddm_params`.

Offline without a copy, the error is one line naming the URL and both ways to point at a copy. The data files
have no licence of their own: cite the papers below and do not redistribute them.

Command line: ``python -m responserank.datasets clithero [--cache-dir DIR] [--path FILE]`` (also
``responserank datasets clithero``) fetches the file and prints where it is.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from responserank.errors import DatasetError
from responserank.reporting import run_cli

DATA_ENV = "RESPONSERANK_DATA"
CLITHERO_ENV = "RESPONSERANK_CLITHERO"
_SOURCE = (
    "https://raw.githubusercontent.com/shenlirobot/linear_bandits_response_time/"
    "fa93263695c51e30e14b9e32dc44446fd47b86cb/data/"
)
NUM_SNACKS = 17


@dataclass(frozen=True)
class RemoteFile:
    """A file of a dataset: its name in the cache folder, where to download it and its SHA-256 (hex)."""

    dataset: str
    name: str
    url: str
    sha256: str


CLITHERO = RemoteFile(
    "clithero",
    "ClitheroDataset.csv",
    _SOURCE + "ClitheroDataset.csv",
    "9c572d572bb3ccd1e3e1c35ef7165516089c6a657d3ef98221d2b87bb81e676c",
)
CLITHERO_DDM_PARAMS = RemoteFile(
    "clithero",
    "Clithero_subjectIdx_2_params.csv",
    _SOURCE + "Clithero_subjectIdx_2_params.csv",
    "8f0508c02a41b358d12f58ce44f18a805421ffd0085a9f7ebf1300426f66a024",
)


# --------------------------------------------------------------------------------------------------------------
# Cache folder, download, checksum
# --------------------------------------------------------------------------------------------------------------


def data_home(cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``cache_dir``, else ``$RESPONSERANK_DATA``, else the user cache folder of responserank."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("responserank"))


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file (read in 1 MiB blocks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(url: str, destination: Path, timeout: float = 30.0) -> None:
    """Copy ``url`` into ``destination`` (raises :class:`OSError` / :class:`urllib.error.URLError` offline)."""
    with urllib.request.urlopen(url, timeout=timeout) as response, open(destination, "wb") as out:
        shutil.copyfileobj(response, out)


def _offline_message(remote: RemoteFile, env: str, reason: str) -> str:
    return (
        f"cannot download {remote.name} from {remote.url} ({reason}); download it by hand (SHA-256 "
        f"{remote.sha256}) and pass path=<file> (command line: --path FILE) or set {env}=<file>"
    )


def fetch(remote: RemoteFile, cache_dir: str | os.PathLike | None = None, env: str = CLITHERO_ENV) -> Path:
    """Path of ``remote`` in the cache folder, downloading it first if it is missing or fails its checksum.

    The download goes to a temporary file beside the destination and is renamed into place only after its
    SHA-256 matched, so the cache never holds a partial or wrong file.
    """
    folder = data_home(cache_dir) / remote.dataset
    destination = folder / remote.name
    if destination.is_file() and sha256_of(destination) == remote.sha256:
        return destination
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DatasetError(f"cannot create the cache folder {folder}: {error.strerror or error}") from None
    handle, temporary = tempfile.mkstemp(prefix=f".{remote.name}.", suffix=".part", dir=folder)
    os.close(handle)
    temporary = Path(temporary)
    try:
        try:
            _download(remote.url, temporary)
        except urllib.error.URLError as error:
            raise DatasetError(_offline_message(remote, env, str(error.reason))) from None
        except OSError as error:
            raise DatasetError(_offline_message(remote, env, error.strerror or str(error))) from None
        digest = sha256_of(temporary)
        if digest != remote.sha256:
            raise DatasetError(
                f"checksum mismatch for {remote.name} downloaded from {remote.url}: SHA-256 {digest}, expected "
                f"{remote.sha256}; the download was discarded"
            )
        os.replace(temporary, destination)
    finally:
        temporary.unlink(missing_ok=True)
    return destination


def _local_or_fetched(
    remote: RemoteFile, path: str | os.PathLike | None, cache_dir: str | os.PathLike | None, env: str
) -> Path:
    chosen = path if path is not None else os.environ.get(env) or None
    if chosen is None:
        return fetch(remote, cache_dir, env)
    local = Path(chosen).expanduser()
    if not local.is_file():
        origin = "path=" if path is not None else f"${env}"
        raise DatasetError(
            f"{local} ({origin}) is not a file; expected a copy of {remote.name} from {remote.url}"
        )
    return local


# --------------------------------------------------------------------------------------------------------------
# Clithero (2018)
# --------------------------------------------------------------------------------------------------------------


def _fail_rows(frame: pd.DataFrame, bad: np.ndarray, column: str, expected: str, source: Path) -> None:
    if bad.any():
        row = frame.index[np.flatnonzero(bad)[0]]
        value = frame.loc[row, column]
        raise DatasetError(
            f"{source}: column {column!r} must be {expected}; row {row} has {value!r} ({int(bad.sum())} bad rows)"
        )


def _validate_clithero(frame: pd.DataFrame, source: Path) -> pd.DataFrame:
    needed = ["subj", "YesNo", "Item_l", "Item_r", "choice", "rt", "Item", "response", "item_l", "item_r"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DatasetError(f"{source}: columns {missing} are missing; is this ClitheroDataset.csv?")
    subject = frame["subj"].to_numpy(dtype=float, na_value=np.nan)
    _fail_rows(frame, ~np.isfinite(subject), "subj", "a subject id", source)
    task = frame["YesNo"].to_numpy(dtype=float, na_value=np.nan)
    _fail_rows(frame, ~np.isin(task, (0.0, 1.0)), "YesNo", "0 (choice) or 1 (yes/no)", source)
    rt = frame["rt"].to_numpy(dtype=float, na_value=np.nan)
    _fail_rows(frame, ~(np.isfinite(rt) & (rt > 0)), "rt", "a positive number of seconds", source)
    pair, single = task == 0, task == 1
    snacks = np.arange(1, NUM_SNACKS + 1, dtype=float)
    for column in ("Item_l", "Item_r"):
        values = frame[column].to_numpy(dtype=float, na_value=np.nan)
        _fail_rows(frame, pair & ~np.isin(values, snacks), column, f"a snack id 1..{NUM_SNACKS}", source)
    left, right = (frame[c].to_numpy(dtype=float, na_value=np.nan) for c in ("Item_l", "Item_r"))
    _fail_rows(frame, pair & (left == right), "Item_r", "a snack other than Item_l", source)
    choice = frame["choice"].to_numpy(dtype=float, na_value=np.nan)
    _fail_rows(frame, pair & ~np.isin(choice, (1.0, 2.0)), "choice", "1 (left) or 2 (right)", source)
    item = frame["Item"].to_numpy(dtype=float, na_value=np.nan)
    _fail_rows(frame, single & ~np.isin(item, snacks), "Item", f"a snack id 1..{NUM_SNACKS}", source)
    response = frame["response"].to_numpy(dtype=float, na_value=np.nan)
    _fail_rows(frame, single & ~np.isin(response, (0.0, 1.0)), "response", "0 (no) or 1 (yes)", source)
    return frame


def load_clithero(
    cache_dir: str | os.PathLike | None = None, path: str | os.PathLike | None = None
) -> pd.DataFrame:
    """The Clithero (2018) snack-choice study: 31 subjects × 306 rows, validated.

    Clithero, J. A. (2018), "Improving out-of-sample predictions using response times and a model of the decision
    process", Journal of Economic Behavior & Organization 148:344–375; file as republished with Li et al.
    (NeurIPS 2024), "Enhancing Preference-based Linear Bandits via Human Response Time".

    Parameters
    ----------
    cache_dir:
        Cache folder (default ``$RESPONSERANK_DATA`` or the user cache folder); the file is kept in
        ``<cache_dir>/clithero/`` and downloaded only when missing or failing its SHA-256.
    path:
        A local copy of ``ClitheroDataset.csv`` to read instead (default ``$RESPONSERANK_CLITHERO``); nothing is
        downloaded.

    Returns
    -------
    DataFrame, one row per trial (index = the file's first column), with the columns of the original file:

    * ``subj`` – subject id (float, e.g. 601.0); ``YesNo`` – 0 = two-alternative choice, 1 = yes/no question;
      ``rt`` – response time in seconds (> 0);
    * choice rows (136 per subject, every pair of the 17 snacks once): ``Item_l``, ``Item_r`` – snack ids 1..17
      (``item_l``, ``item_r`` – image file names); ``choice`` – 1.0 = left chosen, 2.0 = right;
    * yes/no rows (170 per subject, each snack ten times): ``Item`` – snack id; ``response`` – 1 = would eat it.
      P(yes) per subject and snack is an independent measure of the snack's value.

    Raises
    ------
    DatasetError
        Offline without a copy, a checksum mismatch, or a file with missing columns / out-of-range values.
    """
    source = _local_or_fetched(CLITHERO, path, cache_dir, CLITHERO_ENV)
    try:
        frame = pd.read_csv(source, index_col=0)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DatasetError(f"{source}: not a readable CSV ({' '.join(str(error).split())})") from None
    return _validate_clithero(frame, source)


def load_clithero_ddm_params(
    cache_dir: str | os.PathLike | None = None, path: str | os.PathLike | None = None
) -> pd.DataFrame:
    """Drift-diffusion parameters fitted per subject on the yes/no task only (31 rows, sorted subject ids).

    Columns ``alpha``, ``tau`` and ``nu 1`` … ``nu 17`` (a per-snack drift: a second measure of each snack's
    value). ``cache_dir`` as in :func:`load_clithero`; ``path`` is a local copy of
    ``Clithero_subjectIdx_2_params.csv``.
    """
    source = _local_or_fetched(CLITHERO_DDM_PARAMS, path, cache_dir, CLITHERO_ENV + "_PARAMS")
    try:
        frame = pd.read_csv(source)
    except (OSError, ValueError, pd.errors.ParserError) as error:
        raise DatasetError(f"{source}: not a readable CSV ({' '.join(str(error).split())})") from None
    drift = [f"nu {i}" for i in range(1, NUM_SNACKS + 1)]
    missing = [c for c in drift if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{source}: columns {missing} are missing; is this Clithero_subjectIdx_2_params.csv?"
        )
    values = frame[drift].to_numpy(dtype=float, na_value=np.nan)
    if not np.isfinite(values).all():
        row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
        raise DatasetError(f"{source}: row {row} has a missing or non-finite drift")
    return frame


# --------------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------------

LOADERS = {"clithero": load_clithero}


def add_datasets_parser(commands) -> None:
    """The ``datasets`` sub-command of ``responserank`` (and of ``python -m responserank.datasets``)."""
    parser = commands.add_parser(
        "datasets",
        help="download (once) and check a public dataset",
        description="Fetch a dataset into the cache folder (checking its SHA-256), validate it and print where "
        f"it is. Cache folder: --cache-dir, else ${DATA_ENV}, else the user cache folder.",
    )
    _add_arguments(parser)


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=sorted(LOADERS), help="dataset")
    parser.add_argument("--cache-dir", default=None, help=f"cache folder (default ${DATA_ENV} or user cache)")
    parser.add_argument("--path", default=None, help=f"use this local copy instead (default ${CLITHERO_ENV})")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> None:
    frame = LOADERS[args.name](cache_dir=args.cache_dir, path=args.path)
    chosen = (
        args.path or os.environ.get(CLITHERO_ENV) or data_home(args.cache_dir) / "clithero" / CLITHERO.name
    )
    subjects = frame["subj"].nunique()
    print(f"{args.name}: {len(frame)} rows, {subjects} subjects, {frame.shape[1]} columns ({chosen})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m responserank.datasets",
        description="Fetch a public dataset into the cache folder (checking its SHA-256) and print where it is.",
    )
    _add_arguments(parser)
    return run_cli(parser, argv)


if __name__ == "__main__":
    sys.exit(main())
