"""Input checks shared by the core functions.

Every check raises ``ValueError`` with a message that names the offending argument, so that bad input fails at
the API boundary instead of deep inside torch or numpy.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch


def check_choice(name: str, value: str, allowed: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``allowed``; otherwise raise naming the option."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(
            f"{name}={value!r} is not a valid option; expected one of {', '.join(map(repr, allowed))}"
        )
    return value


def check_1d_tensors(**tensors: torch.Tensor) -> int:
    """Check that all arguments are non-empty 1-D tensors of one common length; return that length."""
    length = None
    first_name = None
    for name, tensor in tensors.items():
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.ndim != 1:
            raise ValueError(
                f"{name} must be 1-D with one entry per comparison, got shape {tuple(tensor.shape)}"
            )
        if length is None:
            length, first_name = tensor.shape[0], name
        elif tensor.shape[0] != length:
            raise ValueError(
                f"{name} has {tensor.shape[0]} entries but {first_name} has {length}; "
                "all inputs need one entry per comparison"
            )
    if length == 0:
        raise ValueError(f"empty input: {', '.join(tensors)} have no comparisons")
    assert length is not None
    return length


def check_finite(name: str, tensor: torch.Tensor) -> None:
    """Raise if ``tensor`` is not floating point or holds NaN / infinite values."""
    if not (tensor.is_floating_point() or tensor.dtype in _INTEGER_DTYPES):
        raise ValueError(f"{name} must be a real-valued tensor, got dtype {tensor.dtype}")
    if tensor.is_floating_point():
        bad = ~torch.isfinite(tensor)
        if bool(bad.any()):
            index = int(bad.nonzero()[0, 0])
            raise ValueError(
                f"{name} contains {int(bad.sum())} NaN or infinite value(s), e.g. {tensor[index].item()} at index {index}"
            )


def check_integer(name: str, tensor: torch.Tensor) -> None:
    """Raise unless ``tensor`` has an integer dtype (ids such as strata must not be floats)."""
    if tensor.dtype not in _INTEGER_DTYPES:
        raise ValueError(f"{name} must be an integer tensor of ids, got dtype {tensor.dtype}")


def check_labels(name: str, tensor: torch.Tensor) -> None:
    """Raise unless ``tensor`` holds probabilities/labels in [0, 1] (bool, integer 0/1 or float)."""
    if tensor.dtype == torch.bool:
        return
    if tensor.is_floating_point():
        check_finite(name, tensor)
    elif tensor.dtype not in _INTEGER_DTYPES:
        raise ValueError(f"{name} must be bool, integer 0/1 or float in [0, 1], got dtype {tensor.dtype}")
    outside = (tensor < 0) | (tensor > 1)
    if bool(outside.any()):
        index = int(outside.nonzero()[0, 0])
        raise ValueError(f"{name} must lie in [0, 1]; found {tensor[index].item()} at index {index}")


_INTEGER_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
