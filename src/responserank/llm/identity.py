"""Run identity (spec ``llm.md`` §11): config hash, experiment group id (egid), experiment id (eid), run name.

* hash = sha256 of the resolved config as JSON with sorted keys, leaving out what varies *within* a group:
  ``seed``, ``experiment.fraction``, and ``dry_run`` (a dry run announces itself by the ``dry-`` prefix instead,
  so it shows the egid the real run will get) — and where local copies are read from
  (``experiment.dataset.path``, ``experiment.tokenizer_name``, ``experiment.rewardbench.v1_path`` / ``v2_path``)
  and where runs are written (``runs_dir``, ``fixtures_dir``, ``wandb.enabled``): the data and tokenizer are identified by
  ``experiment.dataset`` (hub id, config, options) and ``experiment.model_name``, so runs reading the same data
  from the hub or from local copies on different machines share one group.
* egid = ``[dry-]<experiment.name>-v<BASE_VERSION>.<version>-<hash[:8]>``; eid = ``<egid>-<fraction>``;
  run name = ``<eid>-<seed>``; e.g. ``rr_agree-v10.3-1a2b3c4d-1.0-42``.

Runs of the paper's caches carry their own hashes (the original config differs in details), so compare by
preset, not by hash, across the two implementations.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

BASE_VERSION = 10
EXCLUDED_KEYS = (
    ("seed",),
    ("experiment", "fraction"),
    ("dry_run",),
    ("experiment", "dataset", "path"),
    ("experiment", "tokenizer_name"),
    ("experiment", "rewardbench", "v1_path"),
    ("experiment", "rewardbench", "v2_path"),
    ("runs_dir",),
    ("fixtures_dir",),
    ("wandb", "enabled"),
)


@dataclass(frozen=True)
class RunIdentity:
    hash: str
    egid: str
    eid: str
    run_name: str


def config_hash(config: dict[str, Any]) -> str:
    """sha256 hex digest of ``config`` (a plain, resolved dict) without the keys in :data:`EXCLUDED_KEYS`."""
    pruned = json.loads(json.dumps(config))  # deep copy of plain data
    for path in EXCLUDED_KEYS:
        node = pruned
        for key in path[:-1]:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(path[-1], None)
    text = json.dumps(pruned, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def run_identity(config: dict[str, Any]) -> RunIdentity:
    """Identity of a run from its resolved config (needs ``experiment.name``, ``experiment.fraction``,
    ``version``, ``seed``, ``dry_run``)."""
    digest = config_hash(config)
    prefix = "dry-" if config.get("dry_run") else ""
    egid = f"{prefix}{config['experiment']['name']}-v{BASE_VERSION}.{config['version']}-{digest[:8]}"
    eid = f"{egid}-{float(config['experiment']['fraction'])}"
    return RunIdentity(hash=digest, egid=egid, eid=eid, run_name=f"{eid}-{config['seed']}")
