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
    "fit",
    "margin_bradley_terry_loss",
    "responserank_loss",
    "rt_regression_loss",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # ``responserank.fit`` is imported on first use, so ``import responserank`` stays light.
    if name == "fit":
        from responserank.fitting import fit

        globals()["fit"] = fit
        return fit
    raise AttributeError(f"module 'responserank' has no attribute {name!r}")
