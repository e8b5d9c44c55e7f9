"""responserank: reward / utility models from pairwise preferences plus a preference-strength signal.

The core is small and pure (``losses``, ``strata``, ``metrics``); experiment families (``synthetic``, ``llm``,
``rl_control``) and their ``analysis`` CLIs build on it.
"""

from responserank.losses import (
    HyperbolicLink,
    bradley_terry_loss,
    margin_bradley_terry_loss,
    responserank_loss,
    rt_regression_loss,
)

__all__ = [
    "HyperbolicLink",
    "bradley_terry_loss",
    "margin_bradley_terry_loss",
    "responserank_loss",
    "rt_regression_loss",
]
__version__ = "0.1.0"
