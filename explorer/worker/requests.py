"""What the window asks of the worker threads and what comes back: small frozen dataclasses.

Every request and result carries a *generation*: the model and dataset it belongs to. The
state's generation changes when a new model or dataset is swapped in, and the controller drops
any result of another generation, so a late answer about the old model never reaches the
state (see explorer/qt/controller.py).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import torch

from explorer.core.data import DatasetLike
from explorer.core.state.compute import Work
from explorer.core.state.slots import Slot
from explorer.core.steps import Progress
from explorer.core.store.encoding import Encodings
from explorer_models.vae import LatentModel


class Job(enum.Enum):
    """The model thread's long jobs, run in order (first come, first served) after decodes.
    The compute thread's kinds of work are explorer.core.state.compute.Work."""

    MODEL = "loading the model"
    DATASET = "opening the dataset"
    ENCODE = "encoding"
    TIDY = "giving freed memory back"  # answers nothing
    HEALTH = "estimating the log-likelihood"  # the health panel's IWAE bound (Controller.run_model_job)
    REPORT = "writing the model report"  # File > Export Model Report… (explorer/qt/report_export.py)


@dataclass(frozen=True)
class LoadedModel:
    """What Job.MODEL finishes with."""

    model: LatentModel
    device: torch.device
    device_name: str


@dataclass(frozen=True)
class OpenedDataset:
    """What Job.DATASET finishes with: the data at the model's image size and, when the cache
    has them, its encodings (memory-mapped)."""

    dataset: DatasetLike
    cache_key: str | None
    cached: Encodings | None

    def __post_init__(self) -> None:
        # the pass over every label (binary_label_names is cached) is made here, on the thread
        # that opened the data: the GUI thread asks for it when the data is swapped in
        self.dataset.binary_label_names()


# -- results (delivered by the worker threads to one callback) ----------------------------------
@dataclass(frozen=True)
class Decoded:
    request_id: int
    generation: int
    slot: Slot
    latents: np.ndarray  # (B, D): what was decoded
    images: np.ndarray  # (B, H, W, C) uint8


@dataclass(frozen=True)
class Progressed:
    request_id: int
    generation: int
    job: Job | Work
    progress: Progress


@dataclass(frozen=True)
class Finished:
    request_id: int
    generation: int
    job: Job | Work
    value: object  # what the job returned; its type is fixed by the job (see explorer/worker/jobs.py)


@dataclass(frozen=True)
class Cancelled:
    request_id: int
    generation: int
    job: Job | Work


@dataclass(frozen=True)
class Failed:
    request_id: int
    generation: int
    what: Slot | Job | Work
    message: str  # one line for the user
    details: str = ""  # the traceback, for the log
    error: Exception | None = None  # a UserInputError itself, for a caller that can act on it (TrustRequired)


Result = Decoded | Progressed | Finished | Cancelled | Failed
