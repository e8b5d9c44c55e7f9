"""Shared building blocks for the analysis CLIs: reproducible figures, summary statistics, table cells, safe output.

* Figures are written as PDF and PNG with fixed metadata (creation date 1990-01-01, creator/producer
  "Matplotlib"), ``bbox_inches="tight"``, pad 0.05, dpi 300, so the same data gives byte-identical files.
* Text uses matplotlib's mathtext unless ``usetex=True`` is requested, so no LaTeX install is needed.
* :func:`atomic_directory` builds an output folder next to its destination and renames it into place only when
  everything succeeded: a failure never leaves a half-written folder that looks complete.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import glob
import math
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import scipy.stats
import yaml

from responserank.errors import AnalysisError, ResponseRankError
from responserank.resources import conf_dir

#: The paper's colours by model family (package data ``conf/colors.yaml``), shared by every figure.
COLORS: dict[str, str] = yaml.safe_load((conf_dir() / "colors.yaml").read_text(encoding="utf-8"))["colors"]
BT_COLOR, RR_COLOR, RT_REGRESSION_COLOR, RR_AGREE_COLOR = (
    COLORS[name] for name in ("bt", "rr", "rt_regression", "rr_agree")
)

FIXED_DATE = _dt.datetime(1990, 1, 1, tzinfo=_dt.UTC)
_PDF_METADATA = {
    "CreationDate": FIXED_DATE,
    "ModDate": FIXED_DATE,
    "Creator": "Matplotlib",
    "Producer": "Matplotlib",
}
_PNG_METADATA = {"Software": "Matplotlib"}
T = TypeVar("T")


def run_cli(parser, argv=None) -> int:
    """Parse ``argv`` and call the chosen subcommand's ``handler(args)`` (``args.argv`` holds the arguments).

    A :class:`~responserank.errors.ResponseRankError` becomes one ``error: …`` line on stderr and the error's
    ``exit_status`` (1 for bad input, 2 for a bad configuration); no traceback.
    """
    import sys

    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    args.argv = argv
    try:
        args.handler(args)
    except ResponseRankError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_status
    return 0


def add_usetex_argument(parser) -> None:
    """The ``--usetex`` flag shared by every ``generate`` subcommand."""
    parser.add_argument(
        "--usetex",
        action="store_true",
        help="render figure text with LaTeX (needs latex, dvipng and ghostscript); default: mathtext",
    )


def analysis_parser(prog: str, description: str, commands: Sequence[str]):
    """An analysis CLI's parser and its required subcommands (named ``commands`` in the usage line)."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=description)
    metavar = "{" + ",".join(commands) + "}"
    return parser, parser.add_subparsers(dest="command", required=True, metavar=metavar)


def add_generate_command(commands, module: str, help: str, description: str, cache_help: str) -> None:
    """The ``generate CACHE_DIR FIGURES_DIR [--usetex]`` subcommand, running ``module.generate`` (imported when
    the command runs, so ``--help`` stays fast)."""
    import functools

    generate = commands.add_parser("generate", help=help, description=description)
    generate.add_argument("cache_dir", help=cache_help)
    generate.add_argument("figures_dir", help="output folder, e.g. paper/figures")
    add_usetex_argument(generate)
    generate.set_defaults(handler=functools.partial(_run_generate, module))


def _run_generate(module: str, args) -> None:
    import importlib

    written = importlib.import_module(module).generate(args.cache_dir, args.figures_dir, usetex=args.usetex)
    overview = Path(args.figures_dir) / "summary.md"
    print(f"wrote {len(written)} files to {args.figures_dir} (overview: {overview})")


def add_wandb_collect_options(collect, family: str) -> None:
    """``--entity``, ``--force`` and ``--timeout`` of a ``collect`` subcommand reading wandb into a cache folder
    (``results/<family>`` holds the published cache)."""
    collect.add_argument("--entity", default=None, help="wandb entity (default: your default entity)")
    collect.add_argument(
        "--force",
        action="store_true",
        help="write even into a folder holding a published cache (a SOURCE.md, like results/"
        + family
        + "), replacing its files",
    )
    collect.add_argument("--timeout", type=float, default=30.0, help="seconds per wandb request (default 30)")


def print_written(written: Sequence, notes: Sequence[str] = ()) -> None:
    """``note: …`` lines on stderr, then one ``wrote PATH`` line per written file."""
    import sys

    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    for path in written:
        print(f"wrote {path}")


def check_usetex(usetex: bool) -> None:
    """With ``usetex``, fail early and in one line when the LaTeX tools matplotlib needs are not on PATH."""
    if usetex:
        missing = [tool for tool in ("latex", "dvipng", "gs") if shutil.which(tool) is None]
        if missing:
            raise AnalysisError(
                f"--usetex needs {', '.join(missing)} on PATH (a LaTeX installation); "
                "leave it out to render with mathtext"
            )


def configure_matplotlib(usetex: bool = False) -> None:
    """Select the non-interactive Agg backend and the paper's font settings (mathtext unless ``usetex``).

    Without LaTeX, text is set in STIX (a Times-like font that ships with matplotlib and covers ±, ×, §, arrows
    and Greek) with STIX mathtext; matplotlib's ``cmr10`` is avoided because it maps those characters to
    unrelated glyphs.
    """
    import logging

    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams.update(
        {
            "text.usetex": bool(usetex),
            "font.family": "serif",
            "font.serif": ["STIXGeneral", "DejaVu Serif"],
            "mathtext.fontset": "stix",
            "axes.unicode_minus": True,
            "pdf.fonttype": 42,
            "svg.hashsalt": "responserank",
            "savefig.dpi": 300,
        }
    )
    # The fixed 1990 PDF dates make fontTools log "timestamp seems very low" for every embedded font; harmless.
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def save_figure(
    fig, path_without_suffix: str | os.PathLike, formats: Sequence[str] = ("pdf", "png")
) -> list[Path]:
    """Save ``fig`` once per format with fixed metadata; returns the written paths. Closes the figure."""
    import matplotlib.pyplot as plt

    base = Path(path_without_suffix)
    base.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        path = base.with_name(base.name + "." + fmt)
        metadata = _PDF_METADATA if fmt == "pdf" else _PNG_METADATA if fmt == "png" else None
        fig.savefig(path, format=fmt, bbox_inches="tight", pad_inches=0.05, dpi=300, metadata=metadata)
        written.append(path)
    plt.close(fig)
    return written


@dataclass(frozen=True)
class Summary:
    """Mean, standard deviation and 95 % confidence half-width (Student t) of a sample."""

    mean: float
    sd: float
    ci95: float
    n: int


def summarize(values, ddof: int = 1) -> Summary:
    """Mean, SD (``ddof``) and CI95 half-width ``SEM·t_{0.975, n−1}`` (SEM with ddof 1; 0 when ``n ≤ 1``).

    NaN values are dropped.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    n = x.size
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, 0)
    mean = float(x.mean())
    sd = float(x.std(ddof=ddof)) if n > ddof else 0.0
    if n <= 1:
        return Summary(mean, sd, 0.0, n)
    sem = float(x.std(ddof=1)) / math.sqrt(n)
    return Summary(mean, sd, sem * float(scipy.stats.t.ppf(0.975, n - 1)), n)


def format_cell(
    summary: Summary,
    decimals: int,
    scale: float = 1.0,
    with_ci: bool = True,
    bold: bool = False,
    latex: bool = True,
) -> str:
    """Format ``mean ± sd [± ci]`` (values multiplied by ``scale``, e.g. 100 for percent).

    LaTeX output uses ``$\\pm$`` and ``\\textbf{}`` for the bold mean; Markdown uses ``±`` and ``**``.
    """
    mean, sd, ci = (summary.mean * scale, summary.sd * scale, summary.ci95 * scale)
    pm = "$\\pm$" if latex else "±"
    mean_text = f"{mean:.{decimals}f}"
    if bold:
        mean_text = f"\\textbf{{{mean_text}}}" if latex else f"**{mean_text}**"
    text = f"{mean_text} {pm} {sd:.{decimals}f}"
    if with_ci:
        text += f" [{pm} {ci:.{decimals}f}]"
    return text


def crossing_points(sizes: Sequence[float], means, thresholds) -> np.ndarray:
    """Vectorised :func:`crossing_point`: ``means`` ``[..., S]`` against ``thresholds`` ``[...]`` → ``[...]``.

    Each curve (last axis, one mean per size) is walked in order of increasing size; at its first index ``i`` with
    ``mean_i ≥ threshold``: if ``i > 0`` the size is linearly interpolated between points ``i−1`` and ``i``, else
    it is the first size. NaN where a curve never reaches its threshold.
    """
    x = np.asarray(sizes, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    x = x[order]
    y = np.asarray(means, dtype=np.float64)[..., order]
    threshold = np.asarray(thresholds, dtype=np.float64)[..., None]
    if x.size == 0:
        return np.full(np.broadcast_shapes(y.shape[:-1], threshold.shape[:-1]), np.nan)
    reached = y >= threshold
    i = np.argmax(reached, axis=-1)[..., None]
    previous = np.maximum(i - 1, 0)
    y_i, y_previous = np.take_along_axis(y, i, -1), np.take_along_axis(y, previous, -1)
    with np.errstate(divide="ignore", invalid="ignore"):  # i = 0 rows divide 0 by 0; replaced below
        interpolated = x[previous] + (threshold - y_previous) * (x[i] - x[previous]) / (y_i - y_previous)
    points = np.where(i == 0, x[0], interpolated)[..., 0]
    return np.where(reached.any(axis=-1), points, np.nan)


def crossing_point(sizes: Sequence[float], means: Sequence[float], threshold: float) -> float | None:
    """Smallest size at which ``means`` reaches ``threshold``, linearly interpolated between sizes.

    Walk the means in order of increasing size; at the first index ``i`` with ``mean_i ≥ threshold``: if
    ``i > 0`` interpolate between points ``i−1`` and ``i``, else return the first size. ``None`` if never reached.
    One curve of :func:`crossing_points`.
    """
    point = float(crossing_points(sizes, means, threshold))
    return None if math.isnan(point) else point


def format_p_value(p: float) -> str:
    """``"< 0.0001"`` below 1e-4, else four decimals."""
    if np.isnan(p):
        return "n/a"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


#: A cache folder holding this file is a published cache (e.g. the paper's results/llm): ``collect`` keeps out.
PUBLISHED_CACHE_MARKER = "SOURCE.md"


def refuse_published_cache(cache_dir: str | os.PathLike, force: bool = False) -> None:
    """Raise :class:`AnalysisError` if ``cache_dir`` holds a published cache (a ``SOURCE.md``) and not ``force``.

    ``collect`` replaces the cache files of its folder; this keeps a user's own collect from overwriting the
    paper's committed caches by accident.
    """
    folder = Path(cache_dir)
    if not force and (folder / PUBLISHED_CACHE_MARKER).is_file():
        raise AnalysisError(
            f"{folder} holds a published cache (see {folder / PUBLISHED_CACHE_MARKER}); collect into another "
            f"folder (e.g. {folder}_ours) or pass --force to overwrite its files"
        )


def check_output_dir(path: str | os.PathLike, option: str = "output folder") -> Path:
    """Fail fast, in one line, when ``path`` cannot become (or be replaced as) a writable folder.

    Called before any computation: ``path`` must not be an existing file, no existing ancestor may be a file
    (``results.csv/out``), and the folders the output is written into must be writable by this process
    (``os.access``; note that for root every existing folder counts as writable). Returns ``path``.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise AnalysisError(f"{option} {path} exists and is not a folder")
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise AnalysisError(f"{option} {path} cannot be created: {ancestor} is not a folder")
    for folder in (path, ancestor) if path.is_dir() else (ancestor,):
        if not os.access(folder, os.W_OK | os.X_OK):
            raise AnalysisError(f"{option} {path} is not writable: no write permission for {folder}")
    return path


_PARTIAL = ".partial-"


def _staging_directory(destination: Path) -> Path:
    """A fresh staging folder next to ``destination``: ``.<name>.partial-<pid>-<random>`` (the pid lets a later
    run recognise folders left by a killed process)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(destination)
    return public_temp(destination.parent, f".{destination.name}{_PARTIAL}{os.getpid()}-", directory=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_staging(destination: str | os.PathLike) -> list[Path]:
    """Remove staging / swap folders next to ``destination`` left by processes that no longer run (killed with
    SIGKILL, power loss); folders of live processes are kept. Returns the removed folders."""
    destination = Path(destination)
    removed = []
    for marker in (_PARTIAL, ".old-"):
        for folder in destination.parent.glob(f".{glob.escape(destination.name)}{marker}*"):
            pid_text = folder.name[len(destination.name) + 1 + len(marker) :].split("-", 1)[0]
            if pid_text.isdigit() and int(pid_text) != os.getpid() and not _pid_alive(int(pid_text)):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
    return removed


@contextlib.contextmanager
def atomic_directory(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success, move its files into ``destination``.

    Files are first written next to ``destination`` and then moved in one rename each, after everything
    succeeded, so an error leaves ``destination`` untouched (files of earlier runs are replaced only on success,
    other files in ``destination`` are kept: several ``generate`` commands share one figures folder).
    """
    destination = Path(destination)
    staging = _staging_directory(destination)
    try:
        yield staging
        destination.mkdir(parents=True, exist_ok=True)
        for item in sorted(staging.rglob("*")):
            target = destination / item.relative_to(staging)
            if item.is_dir():
                target.mkdir(parents=True, exist_ok=True)
            else:
                os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def replaced_directory(destination: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory; on success it *replaces* ``destination`` as a whole.

    Unlike :func:`atomic_directory`, nothing of an earlier ``destination`` survives (no stale file of another
    configuration next to the new ones). The swap is two renames (old folder aside, new folder in) followed by
    removing the old one; an error before the swap leaves ``destination`` untouched. Callers must make sure
    ``destination`` holds nothing but their own outputs.
    """
    destination = Path(destination)
    staging = _staging_directory(destination)
    try:
        yield staging
        if destination.exists():
            old = public_temp(destination.parent, f".{destination.name}.old-{os.getpid()}-", directory=True)
            os.replace(destination, old / destination.name)
            os.replace(staging, destination)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_csv_records(path: str | os.PathLike) -> None:
    """Raise a one-line :class:`AnalysisError` unless every record of the CSV file ``path`` has as many fields as
    its header and the file ends with a line break.

    ``pandas.read_csv`` fills a short row with NaN and reads a number cut in half as its prefix, so a cache cut
    mid-line (an interrupted copy or download) would silently change the results; this check (Python's ``csv``
    module, quoted fields spanning lines included) names the first bad line instead.
    """
    import csv

    path = Path(path)
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))  # histories are long JSON lists in one field
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                raise AnalysisError(f"{path}: empty file (no header line)")
            for record in reader:
                if record and len(record) != len(header):
                    raise AnalysisError(
                        f"{path}: line {reader.line_num} has {len(record)} fields but the header has "
                        f"{len(header)} (a truncated or malformed row)"
                    )
            last_line = reader.line_num
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            if handle.tell() > 0:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) not in (b"\n", b"\r"):
                    raise AnalysisError(
                        f"{path}: line {last_line} does not end with a line break: the file looks truncated"
                    )
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise AnalysisError(f"{path}: cannot read CSV ({' '.join(str(error).split())})") from error


def read_json_object(path: str | os.PathLike, what: str) -> dict:
    """The JSON object in ``path``; a one-line :class:`AnalysisError` naming the file when it cannot be read, is
    not JSON or holds something other than an object (``what`` names the file's role, e.g. ``"run record"``)."""
    import json

    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AnalysisError(f"{path}: not a readable JSON {what} ({error})") from error
    if not isinstance(payload, dict):
        raise AnalysisError(f"{path}: a {what} must be a JSON object")
    return payload


def check_range(
    values, path: str | os.PathLike, column: str, low: float, high: float, meaning: str, row_offset: int = 2
) -> None:
    """Raise a one-line :class:`AnalysisError` naming file, column, line and value if a non-missing value of the
    sequence ``values`` lies outside ``[low, high]`` (``meaning`` says why, e.g. "a fraction, not a percentage");
    ``row_offset`` maps a 0-based position to the file's line number (2 for a CSV with one header line)."""
    array = np.asarray(values, dtype=np.float64)
    outside = ~np.isnan(array) & ~((array >= low) & (array <= high))
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        raise AnalysisError(
            f"{path}: line {row + row_offset}: column {column!r} = {array[row]:g} is outside [{low:g}, {high:g}] "
            f"({meaning}; {int(outside.sum())} value(s) affected)"
        )


def public_temp(parent: str | os.PathLike, prefix: str, suffix: str = "", *, directory: bool = False) -> Path:
    """Create a new empty file (or folder) ``parent/<prefix><random><suffix>``, like :mod:`tempfile` but with the
    ordinary permissions of a new file: mode ``0o666`` (``0o777``) minus the umask, applied by the kernel, so the
    process umask is never read or changed (a toggle would race with other threads)."""
    while True:
        path = Path(parent) / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            if directory:
                path.mkdir(0o777)
            else:
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return path
        except FileExistsError:
            continue


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file in the same folder (:func:`public_temp`, so the file gets
    ordinary permissions) and an atomic rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = public_temp(path.parent, f".{path.name}.", ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def summary_with_section(figures_dir: str | os.PathLike, family: str, markdown: str) -> str:
    """Text of ``figures_dir/summary.md`` with ``family``'s section replaced by (or extended with) ``markdown``.

    Several ``generate`` commands (synthetic, LLM, RL control) write into one figures folder; each owns a section
    between ``<!-- responserank:<family> -->`` markers, so running one never erases another's tables.
    Sections appear in the order they were first written.
    """
    begin, end = f"<!-- responserank:{family} -->", f"<!-- /responserank:{family} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}\n"
    existing_path = Path(figures_dir) / "summary.md"
    existing = existing_path.read_text(encoding="utf-8") if existing_path.is_file() else ""
    if begin in existing and end in existing:
        head, rest = existing.split(begin, 1)
        tail = rest.split(end, 1)[1].lstrip("\n")
        return head + block + ("\n" + tail if tail else "")
    if "<!-- responserank:" not in existing:
        existing = ""  # a summary.md from elsewhere (or an older version) is replaced, not merged
    return existing + ("\n" if existing else "") + block


class OutputFolder:
    """The staging folder of a ``generate`` command and the files written into it so far (:attr:`written`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.written: list[Path] = []

    def figure(self, fig, stem: str) -> None:
        """Save ``fig`` as ``<stem>.pdf`` and ``<stem>.png`` (:func:`save_figure`)."""
        self.written += save_figure(fig, self.root / stem)

    def text(self, name: str, content: str) -> None:
        """Write the UTF-8 text file ``name``."""
        path = self.root / name
        path.write_text(content, encoding="utf-8")
        self.written.append(path)


def write_outputs(
    figures_dir: str | os.PathLike,
    family: str,
    read: Callable[[], T],
    write: Callable[[OutputFolder, T], str],
    usetex: bool = False,
) -> list[Path]:
    """The skeleton of every ``generate`` command; returns the written paths relative to ``figures_dir``.

    Fails fast, in one line, on an unusable ``figures_dir`` or missing LaTeX tools (``usetex``); then ``read()``
    loads and checks the inputs (nothing is written yet); then, with the paper's matplotlib settings for this
    call only (``rc_context``: the caller's rcParams are restored), ``write(out, inputs)`` fills a staging
    folder and returns the Markdown summary, which becomes ``family``'s section of ``summary.md``; the files
    move into ``figures_dir`` only when everything succeeded (:func:`atomic_directory`).
    """
    import matplotlib

    check_output_dir(figures_dir, "FIGURES_DIR")
    check_usetex(usetex)
    inputs = read()
    with matplotlib.rc_context(), atomic_directory(figures_dir) as staging:
        configure_matplotlib(usetex=usetex)
        out = OutputFolder(staging)
        summary = write(out, inputs)
        out.text("summary.md", summary_with_section(figures_dir, family, summary))
    return [path.relative_to(staging) for path in out.written]
