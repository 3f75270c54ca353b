"""Vector files: attribute vectors saved for one model and read back, checked before use.

A file names its format and version and the model it was made for (its content hash); one
made for another model is refused, since its directions mean nothing in another latent space.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, replace

import numpy as np

from explorer.core.io.json_document import read_document
from explorer.core.space.vectors import AttributeVector, Quality, VectorError
from explorer_models import schema as S
from explorer_models.atomic import atomic_write
from explorer_models.config import MAX_LATENT_DIM

FILE_FORMAT = "vae-explorer.vectors"
FILE_VERSION = 1


def vector_to_json(v: AttributeVector) -> dict:
    d = asdict(v)
    d["direction"] = v.direction.tolist()
    d["confounders"] = list(v.confounders)
    return d


MAX_COORDINATE = 1e6  # |component| of a direction, and a slider unit: latents are O(1)
MIN_NORM = 1e-12  # a direction shorter than this has no usable unit vector
VECTOR_SCHEMA = S.obj(
    {
        "name": S.text(),
        "direction": S.list_of(S.number(-MAX_COORDINATE, MAX_COORDINATE), 1, MAX_LATENT_DIM),
        "method": S.text(),
        "std": S.number(0, MAX_COORDINATE),
        "quality": S.obj(
            {
                "auc": S.optional(S.number(0, 1)),
                "cohens_d": S.number(finite=False),  # infinite when both groups are constant
                "n_positive": S.integer(0, S.MAX_COUNT),
                "n_negative": S.integer(0, S.MAX_COUNT),
            },
            required=("auc", "cohens_d", "n_positive", "n_negative"),
            extra=False,
        ),
        "label": S.optional(S.text()),
        "confounders": S.list_of(S.text(), max_len=64, as_tuple=True),
        "model_hash": S.text(),
        "data": S.text(),
    },
    required=("name", "direction", "method", "std", "quality"),
)
VECTORS_FILE_SCHEMA = S.obj(
    {"model_hash": S.text(), "vectors": S.list_of(VECTOR_SCHEMA, max_len=1000)}, required=("vectors",)
)


def vector_from_json(d: dict) -> AttributeVector:
    """A vector from its JSON form, checked with VECTOR_SCHEMA first (by the file's reader)."""
    if not np.linalg.norm(d["direction"]) > MIN_NORM:  # its unit vector would overflow
        raise S.SchemaError(f"vector {S.shown(d['name'])} has an all-zero direction (or one too short to use)")
    return AttributeVector(
        name=d["name"],
        direction=np.asarray(d["direction"], np.float64),
        method=d["method"],
        std=float(d["std"]),
        quality=Quality(**d["quality"]),
        label=d.get("label"),
        confounders=tuple(d.get("confounders", ())),
        model_hash=d.get("model_hash", ""),
        data=d.get("data", ""),
    )


def save_vectors(path: str | os.PathLike, vectors: list[AttributeVector], model_hash: str) -> None:
    doc = {
        "format": FILE_FORMAT,
        "version": FILE_VERSION,
        "model_hash": model_hash,
        "vectors": [vector_to_json(replace(v, model_hash=model_hash)) for v in vectors],
    }
    with atomic_write(path, "w") as f:
        json.dump(doc, f, indent=1)


def load_vectors(path: str | os.PathLike, model_hash: str, latent_dim: int) -> list[AttributeVector]:
    """Vectors saved for this model; refused (VectorError naming the file) for another one."""
    doc = read_document(path, FILE_FORMAT, FILE_VERSION, "vector", VectorError, VECTORS_FILE_SCHEMA)
    if doc.get("model_hash") != model_hash:
        raise VectorError(
            f"{path}: these vectors were made for another model "
            f"({str(doc.get('model_hash'))[:12]}…), not the open one ({model_hash[:12]}…)"
        )
    try:
        vectors = [vector_from_json(d) for d in doc["vectors"]]
    except S.SchemaError as e:
        raise VectorError(f"{path}: {e}") from e
    for v in vectors:
        if v.direction.shape != (latent_dim,):
            raise VectorError(f"{path}: vector {v.name!r} has {v.direction.size} dimensions, the model {latent_dim}")
    return vectors
