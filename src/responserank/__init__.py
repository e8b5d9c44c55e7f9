"""responserank: reward / utility models from pairwise preferences plus a preference-strength signal.

The core is small and pure (``losses``, ``strata``, ``metrics``); experiment families (``synthetic``, ``llm``,
``rl_control``) and their ``analysis`` CLIs build on it.

The names below are imported on first use, so ``import responserank`` (and every CLI that only needs a
sub-package) does not pay for importing torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "HyperbolicLink": "responserank.losses",
    "bradley_terry_loss": "responserank.losses",
    "ddm_loss": "responserank.ddm",
    "margin_bradley_terry_loss": "responserank.losses",
    "responserank_loss": "responserank.losses",
    "rt_regression_loss": "responserank.losses",
    "StratumLayout": "responserank.losses",
    "stratum_layout": "responserank.losses",
    "fit": "responserank.fitting",
}

__all__ = sorted(_EXPORTS)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'responserank' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
