"""The explorer on objects a user already holds in Python: `explorer.show(model, images)` opens
the window, `explorer.encode(model, images)` returns the encodings.

`model` is our VAE, any object meeting the model contract, or any torch module with encode and
decode methods (adapted as a file's class would be, adapter.py, with the image shape taken from
`images`). It ran in the user's own process already, so no trust question arises.
"""

from __future__ import annotations

import sys

from explorer.core.data.in_memory import in_memory_dataset
from explorer.core.store.encoding import encode_all
from explorer.core.store.latents import Encodings
from explorer_models.contract import LatentModel, ModelInfo
from explorer_models.device import resolve_device
from explorer_models.errors import ModelSpecError


def as_latent_model(model, image_shape: tuple[int, int, int]) -> LatentModel:
    """`model` itself when it meets the contract; else the adapted module, probed on `image_shape`."""
    if isinstance(getattr(model, "info", None), ModelInfo) and hasattr(model, "latent_dim"):
        if tuple(model.image_shape) != tuple(image_shape):
            raise ModelSpecError(f"the model takes {tuple(model.image_shape)} images, the images are {image_shape}")
        return model
    import torch

    from explorer_models.sources import IN_MEMORY_PREFIX, ModelSource
    from explorer_models.user_modules import adapt

    if not isinstance(model, torch.nn.Module):
        raise ModelSpecError(f"a {type(model).__name__} is not a model: give a torch.nn.Module with encode and decode")
    name = type(model).__name__
    return adapt(model, name, ModelSource(IN_MEMORY_PREFIX + name, image_shape=image_shape), "python", display=name)


def _prepare(model, images, labels=None, label_names=None):
    dataset = in_memory_dataset(images, labels, label_names)
    _, h, w, c = dataset.images.shape
    return as_latent_model(model, (c, h, w)), dataset


def as_it_was(model):
    """A function that puts `model` back as the caller had it: its training mode and device
    (the explorer runs it in eval mode, on the device it chooses)."""
    training = getattr(model, "training", None)
    first = next(iter(model.parameters()), None) if hasattr(model, "parameters") else None
    device = None if first is None else first.device

    def restore() -> None:
        if device is not None:
            model.to(device)
        if training is not None:
            model.train(training)

    return restore


def encode(model, images, device: str = "cpu") -> Encodings:
    """Encode `images` ((N, H, W), (N, H, W, C) or (N, C, H, W); uint8 or floats in [0, 1] or
    [-1, 1]; numpy or torch) with `model`: Encodings with mu, logvar and the per-image terms.
    `model` is left in the mode and on the device it was."""
    restore = as_it_was(model)
    try:
        latent_model, dataset = _prepare(model, images)
        target = resolve_device(device)
        return encode_all(latent_model.to(target), dataset.images, target)
    finally:
        restore()


def in_notebook_event_loop() -> bool:
    """Whether IPython runs Qt's event loop for us (`%gui qt`): then show() returns at once."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and str(getattr(shell, "active_eventloop", "") or "").startswith("qt")


def show(model, images, labels=None, label_names=None, device: str = "auto", block: bool | None = None):
    """Open the explorer window on `model` and `images` (labels: (N,), (N, L) or a dict of
    name -> (N,) values). In a script it returns when the window closes; in Jupyter with
    `%gui qt` it returns the window at once (block=True/False decides either way). While the
    window is open the model runs in eval mode on the window's device; it is put back as it was
    when the window closes."""
    restore = as_it_was(model)
    try:
        latent_model, dataset = _prepare(model, images, labels, label_names)
    except BaseException:
        restore()
        raise
    from PySide6 import QtCore

    from explorer.qt.app import application
    from explorer.qt.main_window import MainWindow

    application()
    window = MainWindow(latent_model, dataset, device=device)
    window.closed.connect(restore)  # after the worker has stopped: nothing runs the model then
    window.show()
    if block is None:
        block = not in_notebook_event_loop()
    if not block:
        return window
    loop = QtCore.QEventLoop()
    window.closed.connect(loop.quit)
    loop.exec()
    return None
