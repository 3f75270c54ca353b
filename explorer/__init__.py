"""vae-explorer: see what a trained Variational Autoencoder has learned."""

__version__ = "0.1.0"
