"""What a file given to the window is (a model, a dataset, a session), from its name and, for a
folder, what it holds. Qt-free: no QApplication is needed to ask."""

from __future__ import annotations

import enum
import os
from dataclasses import dataclass, field
from pathlib import Path

from explorer.core.data.arrays import ARRAY_SUFFIXES
from explorer.core.io.session import SUFFIX as SESSION_SUFFIX

MODEL_SUFFIXES = (".safetensors", ".py", ".pt", ".pth", ".ts", ".pkl")
PYTHAE_MARKER = "model_config.json"  # what makes a folder a pythae model rather than a folder of images
DROP_HELP = (
    "a model (.safetensors, .py, .pt, .pth, .ts, .pkl or a pythae model folder), a dataset "
    f"(a folder of images, {' or '.join(ARRAY_SUFFIXES)}) or a session ({SESSION_SUFFIX})"
)


class Kind(enum.Enum):
    MODEL = "model"
    DATASET = "dataset"
    SESSION = "session"
    UNKNOWN = "unknown"


def is_model_folder(path: str | os.PathLike) -> bool:
    return (Path(path) / PYTHAE_MARKER).is_file()


def classify(path: str | os.PathLike) -> Kind:
    """The kind of `path`: by its suffix for a file; a folder is a model when it holds a pythae
    model_config.json, a dataset of images otherwise."""
    p = Path(path)
    if p.is_dir():
        return Kind.MODEL if is_model_folder(p) else Kind.DATASET
    suffix = p.suffix.lower()
    if suffix in MODEL_SUFFIXES:
        return Kind.MODEL
    if suffix in ARRAY_SUFFIXES:
        return Kind.DATASET
    if suffix == SESSION_SUFFIX:
        return Kind.SESSION
    return Kind.UNKNOWN


@dataclass
class DropPlan:
    """What to open of the files dropped together: one model, one dataset, or one session (a
    session brings its own model and data, so it opens alone); the rest is told to the user."""

    model: str | None = None
    dataset: str | None = None
    session: str | None = None
    unknown: list[str] = field(default_factory=list)  # files that are none of the kinds
    ignored: list[str] = field(default_factory=list)  # a second model, dataset or session

    @property
    def empty(self) -> bool:
        return self.model is None and self.dataset is None and self.session is None


def plan_drop(paths: list[str]) -> DropPlan:
    plan = DropPlan()
    for path in paths:
        kind = classify(path)
        if kind is Kind.UNKNOWN:
            plan.unknown.append(path)
        elif getattr(plan, kind.value) is None:
            setattr(plan, kind.value, path)
        else:
            plan.ignored.append(path)
    if plan.session is not None:
        plan.ignored += [p for p in (plan.model, plan.dataset) if p is not None]
        plan.model = plan.dataset = None
    return plan
