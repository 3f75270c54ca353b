"""The model thread's dataset jobs: open a dataset at the model's image size (with its cached
encodings, if any) and encode it into the latents store. Each is a `start(model, device)`
generator of steps for ModelWorker.run_job.

A file of precomputed latents is opened with its encodings (the file's mu and logvar, read
and checked in steps): it is never encoded, and its latent size must be the model's."""

from __future__ import annotations

from explorer.core.data import DatasetLike, check_image_shape, check_latent_size, for_model_steps
from explorer.core.store import encoding
from explorer.worker.requests import OpenedDataset


def open_dataset(spec: str | DatasetLike, labels: str | None = None):
    """Model-thread job: load the dataset at the model's image size (rendering or reading
    images in steps, with progress), and any cached encodings (a latents file's own). A dataset
    already in memory (explorer.show) is only checked against the model."""

    def start(model, device):
        if isinstance(spec, str):
            dataset = yield from for_model_steps(spec, model.image_shape, labels)
        else:
            dataset = check_image_shape(spec, model.image_shape)
        check_latent_size(dataset, model.latent_dim)
        key = encoding.model_cache_key(model, dataset.fingerprint)
        from_file = encoding.file_encodings(dataset)
        if from_file is not None:
            return OpenedDataset(dataset, key, from_file)
        cached = encoding.open_cached(key, len(dataset))
        if cached is not None and cached.latent_dim != model.latent_dim:
            cached = None  # not this model's, whatever its info says: encode it again
        return OpenedDataset(dataset, key, cached)

    return start


def encode(dataset: DatasetLike, key: str | None):
    """Model-thread job: encode chunk by chunk into the store (resuming a cancelled run);
    finishes with Encoded (the encodings, and a warning when the cache could not be written)."""

    def start(model, device):
        return (yield from encoding.encode_dataset_steps(model, dataset, device, key))

    return start
