"""Files shipped inside the package: the Hydra configs (``responserank/conf``) and the LLM experiment registry.

They are package data, found through :mod:`importlib.resources`, so a wheel install works from any folder (the
repository's top-level ``conf`` is a link to ``src/responserank/conf``). A user's own config folder (Hydra's
``--config-dir``) is searched *after* the shipped one, exactly as Hydra does: it adds configs
(``dataset/my_data.yaml``, ``experiment/my_preset.yaml``); a file with a shipped config's name is not used (copy
the shipped file under a new name to change it).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from importlib.resources import files
from pathlib import Path


def conf_dir(family: str | None = None) -> Path:
    """The shipped config folder, or its ``family`` sub-folder (``synthetic``, ``llm``).

    Installed packages are plain folders (wheels are unpacked), so this is a real path Hydra can read.
    """
    root = files("responserank") / "conf"
    path = Path(str(root))
    if not path.is_dir():  # pragma: no cover - only a zipped install would get here
        raise RuntimeError(f"responserank's config folder {path} is missing; reinstall the package")
    return path / family if family else path


def llm_registry_path() -> Path:
    """The shipped experiment registry of the LLM analysis (``conf/llm/registry.yaml``)."""
    return conf_dir("llm") / "registry.yaml"


def search_dirs(family: str, user_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for ``family``'s configs, in Hydra's order: the shipped one, then ``user_dir`` (if any).

    Raises :class:`FileNotFoundError` (one line) when ``user_dir`` is not a folder.
    """
    shipped = conf_dir(family)
    if user_dir is None:
        return [shipped]
    user = Path(user_dir).expanduser().resolve()
    if not user.is_dir():
        raise FileNotFoundError(f"config folder {user} (--config-dir) does not exist")
    return [shipped, user]


def group_options(dirs: Sequence[Path], group: str) -> list[str]:
    """Config names of ``group`` (e.g. ``dataset``) across ``dirs``; files starting with ``_`` are helpers."""
    names = {p.stem for d in dirs for p in (d / group).glob("*.yaml") if not p.stem.startswith("_")}
    return sorted(names)


def find_config_file(dirs: Sequence[Path], group: str, name: str) -> Path | None:
    """The file Hydra would load for ``group=name``: the first of ``dirs`` that has it."""
    for folder in dirs:
        path = folder / group / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def split_config_dir(args: Sequence[str]) -> tuple[str | None, list[str]]:
    """Take Hydra's ``--config-dir DIR`` / ``--config-dir=DIR`` / ``-cd DIR`` out of ``args``.

    Returns ``(DIR or None, remaining args)``; the last occurrence wins, as in Hydra.
    """
    user_dir = None
    rest: list[str] = []
    items = list(args)
    index = 0
    while index < len(items):
        arg = items[index]
        if arg in ("--config-dir", "-cd"):
            if index + 1 >= len(items):
                raise ValueError(f"{arg} needs a folder")
            user_dir = items[index + 1]
            index += 2
            continue
        if arg.startswith("--config-dir="):
            user_dir = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        index += 1
    return user_dir, rest


@contextlib.contextmanager
def initialize_config_dirs(dirs: Sequence[Path], job_name: str, version_base: str | None) -> Iterator[None]:
    """Like :func:`hydra.initialize_config_dir` on ``dirs[0]``, with ``dirs[1:]`` added as ``--config-dir`` would.

    This is the search path Hydra's own ``--config-dir`` gives a ``@hydra.main`` application (the extra folders
    are inserted before Hydra's structured-config source), so ``compose`` here sees exactly the configs the run
    will see.
    """
    from hydra import initialize_config_dir

    primary, *extra = dirs
    with initialize_config_dir(config_dir=str(primary), version_base=version_base, job_name=job_name):
        if extra:
            from hydra._internal.hydra import Hydra
            from hydra._internal.utils import create_config_search_path
            from hydra.core.config_search_path import SearchPathQuery
            from hydra.core.global_hydra import GlobalHydra

            search_path = create_config_search_path(str(primary))
            for folder in extra:
                search_path.prepend(
                    provider="command-line",
                    path=f"file://{folder}",
                    anchor=SearchPathQuery(provider="schema"),
                )
            GlobalHydra.instance().clear()
            Hydra.create_main_hydra2(task_name=job_name, config_search_path=search_path)
        yield
