"""vae-explorer: see what a trained Variational Autoencoder has learned."""

__version__ = "0.1.0"


def show(model, images, labels=None, label_names=None, **options):
    """Open the explorer window on a model and images you hold in Python (see explorer.notebook)."""
    from explorer.notebook import show as show_window

    return show_window(model, images, labels, label_names, **options)


def encode(model, images, device: str = "cpu"):
    """Encode images with a model you hold in Python; returns Encodings (see explorer.notebook)."""
    from explorer.notebook import encode as encode_images

    return encode_images(model, images, device)
