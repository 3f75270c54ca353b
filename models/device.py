"""Pick the torch device: CUDA, then Apple's MPS, then the CPU, unless the user names one."""

from __future__ import annotations

import torch

from explorer_models.errors import UserInputError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def resolve_device(choice: str = "auto") -> torch.device:
    if choice == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps" if _mps_available() else "cpu")
    if choice == "cuda" and not torch.cuda.is_available():
        raise UserInputError("--device cuda: no CUDA GPU is available to torch on this machine")
    if choice == "mps" and not _mps_available():
        raise UserInputError("--device mps: Apple's MPS backend is not available on this machine")
    if choice not in DEVICE_CHOICES:
        raise UserInputError(f"unknown device {choice!r}; choose one of {', '.join(DEVICE_CHOICES)}")
    return torch.device(choice)


def describe_device(device: torch.device) -> str:
    """A short human name, e.g. 'CUDA (NVIDIA H100)' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "MPS (Apple GPU)"
    n = torch.get_num_threads()
    return f"CPU ({n} thread{'' if n == 1 else 's'})"
