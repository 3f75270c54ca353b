"""Sessions: everything the user set up, saved to one JSON file and opened again with
`vae-explorer SESSION_FILE` (or File > Open Session).

A session names its model and dataset and records their hashes. When either has changed on
disk since, opening the session says so and restores nothing that depends on them (points,
keyframes, vectors): pictures of old latents under a new model would be wrong pictures.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from explorer.core.figures import figure as F
from explorer.core.figures.compose import MAX_PADDING, MAX_SCALE, Layout
from explorer.core.figures.export import Animation
from explorer.core.io.json_document import read_document
from explorer.core.maps.nonlinear import METHODS, available
from explorer.core.space.vector_file import MAX_COORDINATE, VECTOR_SCHEMA, vector_from_json, vector_to_json
from explorer.core.state.explorer_state import FILL_MEAN, FILL_NEAREST
from explorer_models import schema as S
from explorer_models.atomic import write_bytes_atomic
from explorer_models.config import MAX_LATENT_DIM
from explorer_models.errors import UserInputError
from explorer_models.sources import IN_MEMORY_PREFIX, ModelSource

FORMAT, VERSION, SUFFIX = "vae-explorer.session", 1, ".vaesession"


class SessionError(UserInputError):
    """A session file that cannot be read or used; the message names the file."""


def _projection(value, where):
    """["pca"], ["raw", i, j], ["vector", k], ["umap"] or ["tsne"] (whether i, j and k exist is
    checked on restore)."""
    kinds = {"pca": 0, "custom": 0, "raw": 2, "vector": 1, **dict.fromkeys(METHODS, 0)}
    value = S.list_of(lambda v, w: v, 1, 3)(value, where)
    kind = S.text(choices=tuple(kinds))(value[0], f"{where}[0]")
    if len(value) != 1 + kinds[kind]:
        raise S.SchemaError(f"{where} is {S.shown(value)}: {kind!r} takes {kinds[kind]} numbers")
    return [kind, *(S.integer(0, MAX_LATENT_DIM)(v, f"{where}[{i + 1}]") for i, v in enumerate(value[1:]))]


_LATENT = S.list_of(S.number(-MAX_COORDINATE, MAX_COORDINATE), 1, MAX_LATENT_DIM)
_INDICES = S.list_of(S.integer(0, S.MAX_COUNT), max_len=50_000_000)
_KEYFRAME = S.obj(
    {"latent": _LATENT, "index": S.optional(S.integer(0, S.MAX_COUNT)), "source": S.text()}, required=("latent",)
)
_FIGURE_SPEC = S.obj(
    {
        **{k: S.text() for k in ("kind", "method")},
        "steps": S.integer(2, F.MAX_STEPS),
        **{k: S.integer(2, F.MAX_SIDE) for k in ("rows", "cols")},
        **{k: S.number(-F.MAX_SWEEP, F.MAX_SWEEP) for k in ("sweep_from", "sweep_to")},
        "originals": S.boolean(),
        "layout": S.obj(
            {
                "columns": S.integer(0, F.MAX_IMAGES),
                "padding": S.integer(0, MAX_PADDING),
                "background": S.list_of(S.integer(0, 255), 3, 3),
                "scale": S.integer(1, MAX_SCALE),
                "captions": S.boolean(),
            },
            extra=False,
        ),
        "animation": S.obj({"duration_ms": S.integer(), "pingpong": S.boolean()}, extra=False),
    },
    extra=False,
)
SESSION_SCHEMA = S.obj(
    {
        "model": S.obj(
            {
                "spec": S.text(S.MAX_TEXT),
                "hash": S.text(),
                # a user's own model: the rest of what opens it (explorer_models.sources.ModelSource)
                "options": S.obj(
                    {
                        "weights": S.text(S.MAX_TEXT),
                        "model_args": S.text(S.MAX_TEXT),
                        "image_shape": S.list_of(S.integer(1, 4096), 3, 3),
                        "encoder_output": S.text(),
                        "decoder_output": S.text(),
                    },
                    extra=False,
                ),
            },
            required=("spec", "hash"),
        ),
        "data": S.obj(
            {"spec": S.text(S.MAX_TEXT), "fingerprint": S.text(), "labels": S.text(S.MAX_TEXT)},
            required=("spec", "fingerprint"),
        ),
        "projection": _projection,
        "fill_mode": S.text(),
        "colour": S.text(),
        "pinned": S.optional(_LATENT),
        "vectors": S.list_of(VECTOR_SCHEMA, max_len=1000),
        "slider_values": S.list_of(S.number(-1e3, 1e3), max_len=1000),
        "orthogonalise": S.boolean(),
        "selection": S.obj({"A": _INDICES, "B": _INDICES}),
        "strip": S.obj(
            {
                "spec": _FIGURE_SPEC,
                "vector_index": S.integer(0, 1000),
                "keyframes": S.list_of(_KEYFRAME, max_len=F.MAX_IMAGES),
            }
        ),
    },
    required=("model", "data"),
)


def _spec_for_file(spec: str) -> str:
    """Model and data SPECs as absolute paths, so the session opens from any folder."""
    if spec.startswith(("builtin:", IN_MEMORY_PREFIX)):
        return spec
    return str(Path(spec).expanduser().resolve())  # FILE.py:Class keeps its class at the end


def _options_for_file(options: dict) -> dict:
    return {**options, "weights": _spec_for_file(options["weights"])} if "weights" in options else dict(options)


def model_source(doc: dict) -> ModelSource:
    """What opens the session's model again (a user's .py still asks for trust: never stored)."""
    return ModelSource.from_options(doc["model"]["spec"], doc["model"].get("options", {}))


def capture(state) -> dict:
    """The state as a JSON-ready dict (the window calls this to save)."""
    s, strip = state, state.strip
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {
            "spec": _spec_for_file(s.model_info.source),
            "hash": s.model_info.content_hash,
            **({"options": _options_for_file(s.model_info.options)} if s.model_info.options else {}),
        },
        "data": {
            "spec": _spec_for_file(s.dataset.spec),
            "fingerprint": s.dataset.fingerprint,
            **({"labels": labels} if (labels := getattr(s.dataset, "labels_file", "")) else {}),
        },
        "projection": list(s.projection_source),
        "fill_mode": s.fill_mode,
        "colour": s.colour_key,
        "pinned": None if s.pinned is None else s.pinned.latent.tolist(),
        "vectors": [vector_to_json(v) for v in s.sliders.vectors],
        "slider_values": list(s.sliders.values),
        "orthogonalise": s.sliders.orthogonalise,
        "selection": {g: np.asarray(idx).tolist() for g, idx in s.selection.items()},
        "strip": {
            "spec": asdict(strip.spec),
            "vector_index": strip.vector_index,
            "keyframes": [
                {"latent": np.asarray(k.latent).tolist(), "index": k.index, "source": k.source} for k in strip.keyframes
            ],
        },
    }


def save(path: str | os.PathLike, doc: dict) -> Path:
    path = Path(path).expanduser()
    try:
        write_bytes_atomic(path, (json.dumps(doc, indent=1, allow_nan=False) + "\n").encode("utf-8"))
    except OSError as e:
        raise SessionError(f"{path}: could not write ({e.strerror or e})") from e
    return path


def load(path: str | os.PathLike) -> dict:
    """The session document, checked for shape; SessionError naming the file otherwise."""
    path = Path(path).expanduser()
    return read_document(path, FORMAT, VERSION, "session", SessionError, SESSION_SCHEMA)


def mismatches(doc: dict, model_hash: str, data_fingerprint: str) -> list[str]:
    """What changed since the session was saved, one sentence each; empty when nothing did."""
    out = []
    if doc["model"]["hash"] != model_hash:
        out.append(
            f"the model {doc['model']['spec']} has changed since the session was saved "
            f"(hash {doc['model']['hash'][:12]}…, now {model_hash[:12]}…)"
        )
    if doc["data"]["fingerprint"] != data_fingerprint:
        out.append(f"the dataset {doc['data']['spec']} has changed since the session was saved")
    return out


def _spec_from(d: dict) -> F.FigureSpec:
    d = dict(d)
    look, anim = d.pop("layout", None), d.pop("animation", None)
    layout = Layout(**{**look, "background": tuple(look["background"])}) if look else Layout()
    animation = Animation(**anim) if anim else Animation()
    return F.FigureSpec(**d, layout=layout, animation=animation).check()


@dataclass(frozen=True)
class _Plan:
    """A session read and checked against a model and data: what restore applies."""

    vectors: list
    values: list
    pinned: np.ndarray | None
    selection: dict
    strip: dict
    spec: F.FigureSpec
    keyframes: list
    projection: list


def check_restorable(state, doc: dict, path: str = "the session") -> _Plan:
    """Everything restore would apply, read and checked against the state's model and data;
    SessionError naming the file otherwise. Changes nothing (the window asks this before it
    lets go of what it shows)."""
    n, dim = len(state.encodings), state.latent_dim
    try:
        vectors = [vector_from_json(v) for v in doc.get("vectors", [])]
        values = [float(c) for c in doc.get("slider_values", [0.0] * len(vectors))]
        pinned = None if doc.get("pinned") is None else np.asarray(doc["pinned"], np.float32)
        selection = {g: np.asarray(doc.get("selection", {}).get(g, []), int) for g in "AB"}
        strip = doc.get("strip", {})
        spec = _spec_from(strip["spec"]) if "spec" in strip else F.FigureSpec()
        keyframes = [
            F.Keyframe(np.asarray(k["latent"], np.float32), k.get("index"), str(k.get("source", "")))
            for k in strip.get("keyframes", [])
        ]
        projection = list(doc.get("projection", ["pca"]))
    except (KeyError, TypeError, ValueError) as e:  # a document load() did not check
        raise SessionError(f"{path}: an entry is damaged ({e})") from e
    except UserInputError as e:  # a figure setting out of range
        raise SessionError(f"{path}: {e}") from e
    latents = [v.direction for v in vectors] + [k.latent for k in keyframes] + ([pinned] if pinned is not None else [])
    if any(np.shape(z) != (dim,) for z in latents) or len(values) != len(vectors):
        raise SessionError(f"{path}: its latents do not fit the model's {dim} dimensions")
    if any(len(idx) and (idx.min() < 0 or idx.max() >= n) for idx in selection.values()):
        raise SessionError(f"{path}: its selection names points the dataset ({n:,} points) does not have")
    if any(k.index is not None and not 0 <= k.index < n for k in keyframes):
        raise SessionError(f"{path}: its strip's keyframes name points the dataset ({n:,} points) does not have")
    if projection[0] == "raw" and not (max(projection[1:]) < dim and projection[1] != projection[2]):
        raise SessionError(
            f"{path}: its map shows latent dimensions {projection[1]} and {projection[2]}; "
            f"the model has 0..{dim - 1}, and they must differ"
        )
    if projection[0] == "vector" and not projection[1] < len(vectors):
        raise SessionError(f"{path}: its map is along vector {projection[1]}, and it has {len(vectors)} vectors")
    return _Plan(vectors, values, pinned, selection, strip, spec, keyframes, projection)


def restore(state, doc: dict, path: str = "the session") -> None:
    """Apply a loaded session to a state whose model and data match it (check mismatches first).

    Everything is read and checked before anything is applied: a damaged session changes nothing."""
    p = check_restorable(state, doc, path)
    vectors, values, pinned, selection, strip = p.vectors, p.values, p.pinned, p.selection, p.strip
    spec, keyframes, projection = p.spec, p.keyframes, p.projection
    state.pin(None if pinned is None else state.cursor_for_latent(pinned))  # first: the sliders move it
    state.add_vectors(vectors)
    state.sliders.values = values
    state.set_orthogonalise(bool(doc.get("orthogonalise", False)))
    if doc.get("fill_mode") in (FILL_NEAREST, FILL_MEAN):
        state.set_fill_mode(doc["fill_mode"])
    if projection[0] == "raw":
        state.set_raw_dims(projection[1], projection[2])
    elif projection[0] == "vector":
        state.set_along_vector(projection[1])
    elif projection[0] in available():  # fitted again, or read from the cache of maps fitted before
        state.set_nonlinear(projection[0])
    else:  # PCA; also for a UMAP or t-SNE map where its extra is not installed
        state.set_pca()
    if doc.get("colour") in state.colour_choices():
        state.set_colour(doc["colour"])
    for g, idx in selection.items():
        state.select(g, idx)
    state.strip.vector_index = int(strip.get("vector_index", 0))
    state.strip.spec = spec
    state.strip.set_keyframes(keyframes)
