"""Experiment registry: which runs make up an experiment, and how it is named and drawn.

``registry.yaml``::

    experiments:
      rr_agree:                                  # key = preset name (conf/llm/experiment/<key>.yaml)
        egid: rtrank_agreement-v10.6-576ce977    # experiment group id of its runs (spec llm.md §11); optional
                                                 # (without it only local runs of the preset match)
        display_name: RR-Agree                   # optional (default: the key)
        color: '#8D6E63'                         # optional matplotlib colour
        marker: p                                # optional matplotlib marker
        linestyle: '-'                           # optional matplotlib line style

The same file is the ``registry.yaml`` of a cache: ``collect`` copies the registry it used into the cache
verbatim (and leaves it alone when the cache folder already holds it, as in ``collect results/llm …
--registry conf/llm/registry.yaml``). Runs are tied to experiments by :func:`resolve_experiments`, used by
both ``collect`` and ``generate``:

1. a run whose egid equals an experiment's ``egid`` belongs to it;
2. an experiment that no run matched by egid takes the runs whose ``preset`` column (local run records only)
   equals its key and whose egid is not in the registry — our own runs carry new egids (the hash covers the
   full config), so the paper's egids need not be edited. These runs must share one egid; otherwise an error
   names the egids and asks to pin one with ``egid:``;
3. all other runs are ignored.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import yaml

from responserank.errors import AnalysisError

KEY = re.compile(r"[A-Za-z0-9_]+")
FIELDS = ("egid", "display_name", "color", "marker", "linestyle")


@dataclass(frozen=True)
class Experiment:
    key: str
    egid: str | None  # None: matches local runs by preset name only
    display_name: str
    color: str | None = None
    marker: str | None = None
    linestyle: str | None = None

    def to_dict(self) -> dict[str, str]:
        out = {"egid": self.egid} if self.egid else {}
        out["display_name"] = self.display_name
        for name in ("color", "marker", "linestyle"):
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


def parse_registry(payload, source: str) -> dict[str, Experiment]:
    """Validate the parsed YAML of a registry; ``source`` names it in error messages."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("experiments"), Mapping):
        raise AnalysisError(f"{source}: expected a mapping 'experiments: {{<key>: {{egid: …}}}}'")
    experiments: dict[str, Experiment] = {}
    egids: dict[str, str] = {}
    for key, entry in payload["experiments"].items():
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise AnalysisError(f"{source}: experiment key {key!r} must consist of letters, digits and '_'")
        if not isinstance(entry, Mapping):
            raise AnalysisError(f"{source}: experiment {key!r} must be a mapping with at least 'egid'")
        unknown = sorted(set(entry) - set(FIELDS))
        if unknown:
            raise AnalysisError(
                f"{source}: experiment {key!r}: unknown field(s) {', '.join(map(str, unknown))} "
                f"(allowed: {', '.join(FIELDS)})"
            )
        for name in FIELDS:
            if name in entry and (not isinstance(entry[name], str) or not entry[name]):
                raise AnalysisError(f"{source}: experiment {key!r}: {name} must be a non-empty string")
        egid = entry.get("egid")
        if egid is not None and egid in egids:
            raise AnalysisError(f"{source}: egid {egid} is listed for both {egids[egid]!r} and {key!r}")
        if egid is not None:
            egids[egid] = key
        experiments[key] = Experiment(
            key=key,
            egid=egid,
            display_name=entry.get("display_name", key),
            color=entry.get("color"),
            marker=entry.get("marker"),
            linestyle=entry.get("linestyle"),
        )
    if not experiments:
        raise AnalysisError(f"{source}: the registry lists no experiments")
    return experiments


def load_registry(path: str | os.PathLike) -> dict[str, Experiment]:
    path = Path(path)
    try:
        payload = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise AnalysisError(f"registry {path} not found") from error
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise AnalysisError(f"{path}: not a readable YAML registry ({first})") from error
    return parse_registry(payload, str(path))


def dump_registry(experiments: Mapping[str, Experiment], header: str = "") -> str:
    """YAML text of ``experiments`` in the order given (deterministic)."""
    body = yaml.safe_dump(
        {"experiments": {key: e.to_dict() for key, e in experiments.items()}},
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=110,
    )
    lines = [f"# {line}".rstrip() for line in header.splitlines()] if header else []
    return "\n".join([*lines, body]) if lines else body


def resolve_experiments(runs: pd.DataFrame, experiments: Mapping[str, Experiment]) -> dict[str, Experiment]:
    """The experiments that have runs, each with the egid of its runs (rules in the module docstring).

    ``runs`` needs an ``egid`` column; a ``preset`` column (empty for wandb runs) enables rule 2.
    """
    egids = runs["egid"].astype(str)
    presets = runs["preset"] if "preset" in runs.columns else pd.Series(None, index=runs.index, dtype=object)
    registered = {e.egid for e in experiments.values() if e.egid}
    present = set(egids)
    resolved: dict[str, Experiment] = {}
    for key, experiment in experiments.items():
        if experiment.egid is not None and experiment.egid in present:
            resolved[key] = experiment
            continue
        candidates = egids[(presets == key) & ~egids.isin(registered)]
        found = sorted(set(candidates))
        if len(found) > 1:
            counts = ", ".join(f"{egid} ({int((candidates == egid).sum())} runs)" for egid in found)
            raise AnalysisError(
                f"local runs of preset {key!r} come from {len(found)} different configurations: {counts}; "
                f"pin one with 'egid:' under {key!r} in the registry"
            )
        if found:
            resolved[key] = replace(experiment, egid=found[0])
    return resolved
