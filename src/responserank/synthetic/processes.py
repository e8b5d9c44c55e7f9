"""Worker processes that die with their parent and never write into a run their parent no longer owns.

The runner's pool workers are ``spawn`` children. Without care they outlive a parent killed with SIGKILL (they
are re-parented to PID 1, keep training and write trial folders into the aborted run, then block forever on the
task queue). Three layers prevent that:

1. :func:`die_with_parent` (called in each worker's initializer) asks Linux to SIGKILL the worker when the
   parent dies (``prctl(PR_SET_PDEATHSIG)``, best effort through ctypes) and starts a portable daemon thread that
   polls ``os.getppid()`` and ends the worker with ``os._exit`` once the parent is gone (macOS, or a libc without
   ``prctl``).
2. Before the atomic rename of a trial folder a worker checks :func:`run_is_owned`: its parent is still alive and
   the run folder's ``ABORTED`` marker still carries the owner token the parent wrote at start. The parent
   rewrites the marker without the token (:func:`release_marker`) as soon as it is interrupted, and a resumed
   run writes a new token, so stray workers of an earlier process never write into the folder.
3. SIGINT is ignored in the parent while it spawns workers (:func:`sigint_ignored`); a spawned child inherits
   the ignored disposition, so an early Ctrl-C — while a worker still imports torch, before its initializer
   runs — reaches only the parent, which prints one line; workers never print ``KeyboardInterrupt`` tracebacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

_PR_SET_PDEATHSIG = 1
PARENT_POLL_SECONDS = 0.5
_OWNER_PREFIX = "owner: "


def new_owner_token() -> str:
    """A token unique to one runner process and start: ``<pid>-<random hex>``."""
    return f"{os.getpid()}-{uuid.uuid4().hex}"


def marker_text(owner_token: str | None) -> str:
    """Contents of the ``ABORTED`` marker; with a token while a live runner owns the folder."""
    text = "run started but not finished; continue with resume=<this directory>\n"
    return text + (f"{_OWNER_PREFIX}{owner_token}\n" if owner_token else "")


def marker_owner(marker: Path) -> str | None:
    """The owner token recorded in ``marker`` (``None`` when absent, unreadable or released)."""
    try:
        lines = marker.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    owners = [line[len(_OWNER_PREFIX) :] for line in lines if line.startswith(_OWNER_PREFIX)]
    return owners[-1] if owners else None


def release_marker(marker: Path) -> None:
    """Drop the owner token from ``marker`` (the run stays unfinished): workers stop writing into the folder."""
    with contextlib.suppress(OSError):
        marker.write_text(marker_text(None), encoding="utf-8")


def run_is_owned(marker: Path, owner_token: str, parent_pid: int) -> bool:
    """True while the parent ``parent_pid`` is alive and still owns the run marked by ``marker``."""
    return os.getppid() == parent_pid and marker_owner(marker) == owner_token


def _set_parent_death_signal() -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


def die_with_parent(parent_pid: int) -> None:
    """Make the calling (worker) process end as soon as ``parent_pid`` — its parent — is gone."""
    _set_parent_death_signal()
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent_pid,), name="parent-watcher", daemon=True).start()


@contextlib.contextmanager
def sigint_ignored() -> Iterator[None]:
    """Ignore SIGINT while the block runs (main thread only). Children spawned meanwhile inherit the ignored
    disposition across ``exec`` — a blocked signal mask is not inherited by ``spawn`` children — so they never
    raise ``KeyboardInterrupt`` while importing; a Ctrl-C within the few milliseconds of the block is lost."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread may set handlers
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
