"""Malformed inputs for every file and option vae-explorer reads (issue 11), deterministic at a seed.

Each case is a small frozen `Case`: its kind (the entry point it goes through), a name, and
`make(env, folder) -> Input`, which writes the input into `folder` (a fresh, empty folder of
its own) and returns the path it wrote or the argv to run. `env` (`Env`, built once per
worker by `build_env`) holds what the cases start from: a valid tiny checkpoint, a folder of
8x8 images, a valid vector file and a valid session document.

Listing cases (`generate_cases`) imports nothing heavy and runs no product code: the harness's
parent process lists them to schedule and report, its worker process lists the very same ones
(same seed, same count) and makes and runs them. A case's random choices (offsets, bits, the
JSON node to replace) are drawn when listing, as numbers; `make` resolves them against the
base file, so a case is the same input in every process and every run.

Kinds and their entry points (the harness runs `entry`):
  checkpoint         explorer_models.load_model(PATH)
  cli-info           vae-explorer info --model PATH (the same files as `checkpoint`)
  vectors            load_vectors(PATH, hash, dim), then a sweep figure rendered along its first vector
  cli-strip-vector   vae-explorer strip ... --vector PATH (the same files as `vectors`)
  session            session.load(PATH), mismatches, restore on a headless ExplorerState, strip rendered
  cli-strip, cli-grid, cli-train, cli-info, cli-vector   options out of bounds, bad --model/--data/--out
  files              unreadable folders (when chmod really blocks), FIFOs, odd and non-UTF-8 names
  control            valid inputs of each kind, expected to be accepted (checks the harness itself)
  model-*, data-*, cli-strip-data   issue 12: malformed model files and datasets (formats.py)
"""

from __future__ import annotations

import copy
import importlib.util
import json
import math
import os
import random
import stat
import struct
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

DEFAULT_SEED = 11
ENV_CASES = "VAE_EXPLORER_FUZZ_CASES"  # a larger run: this many cases in all (more random ones)
# random cases per family at the default size (the structured cases come on top)
DEFAULT_RANDOM = {
    "checkpoint-bytes": 40,
    "checkpoint-json": 42,
    "vectors": 60,
    "session": 120,
    "model-bytes": 60,  # bit flips in torch.save zips and TorchScript archives (formats.py)
    "image-bytes": 60,  # bit flips in the images of a folder (formats.py)
    "data-bytes": 45,  # bit flips in .npy / .npz files of images and of latents (formats.py)
}

CKPT_NAME, VEC_NAME, SESSION_NAME = "model.safetensors", "vectors.json", "explorer.vaesession"
LATENT_DIM, IMAGE_SHAPE, N_IMAGES = 2, (1, 8, 8), 8
SESSION_DIM, SESSION_POINTS, SESSION_HASH, SESSION_FP = 4, 50, "a" * 64, "fp"
DEEP = 5000  # levels of nesting: Python's json recursion limit is about 1000


# -- what a case is ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Input:
    path: Path | None = None  # the file or folder the case feeds (names the input in a message)
    argv: tuple[str, ...] | None = None  # for the CLI entry
    variant: str = ""  # what else the entry needs to know (selection: which state; for_model: "rgb")
    spec: str = ""  # model_source: the model SPEC (default: the path)
    source: tuple[tuple[str, Any], ...] = ()  # model_source: ModelSource's other fields (trusted, weights, ...)
    marker: Path | None = None  # a file that appears only if the input ran code: it must never appear
    skipped: tuple[str, ...] = ()  # accepted datasets: files the problems must name (skipped, unreadable)
    kept: tuple[str, ...] = ()  # accepted datasets: files the problems must not name (readable images)


@dataclass(frozen=True)
class Case:
    kind: str
    name: str
    make: Callable[[Env, Path], Input] = field(repr=False, compare=False)
    entry: str  # load_model | cli | vectors | session | dataset | selection
    expect: str = "error"  # error: a clean error is the only right answer; accept; either
    names: tuple[str, ...] = ()  # words a clean message may name instead of the path (an option)
    outputs: tuple[str, ...] = ()  # files the case may write into its folder when it is accepted
    timeout: float = 8.0
    issue: str = ""  # the regression id of issue 11 (or 12) this case is, if any
    error: str = ""  # the error type a clean error must be (or derive from), e.g. TrustRequired
    side_files: tuple[str, ...] = ()  # patterns of files it may write whatever the outcome (__pycache__)

    @property
    def id(self) -> str:
        return f"{self.kind}/{self.name}"


@dataclass
class Env:
    root: Path
    ckpt_path: Path
    ckpt_bytes: bytes
    model_hash: str
    data_dir: Path
    vector_doc: dict
    session_doc: dict
    extra: dict = field(default_factory=dict)  # formats.py's valid model files (formats.build_model_env)


class Raw:
    """JSON text put in a document as is (deep nesting the encoder itself would refuse)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return f"Raw({self.text[:20]}…)"


def deep_list(levels: int = DEEP, inner: str = "1") -> Raw:
    return Raw("[" * levels + inner + "]" * levels)


def deep_dict(levels: int = DEEP) -> Raw:
    return Raw('{"a": ' * levels + "1" + "}" * levels)


def dumps(obj: Any, indent: int | None = None) -> str:
    """json.dumps that allows NaN/Infinity and splices Raw text in."""
    raws: list[str] = []

    def sub(o):
        if isinstance(o, Raw):
            raws.append(o.text)
            return f"\x00RAW{len(raws) - 1}\x00"
        if isinstance(o, dict):
            return {k: sub(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [sub(v) for v in o]
        return o

    text = json.dumps(sub(obj), allow_nan=True, indent=indent)
    for i, r in enumerate(raws):
        text = text.replace(json.dumps(f"\x00RAW{i}\x00"), r)
    return text


_DELETE = object()


def edit(doc: Any, path: tuple, value: Any = _DELETE) -> Any:
    """A copy of `doc` with the node at `path` (keys and indices) set to `value`, or deleted."""
    if not path:
        return value
    out = copy.deepcopy(doc)
    node = out
    for key in path[:-1]:
        node = node[key]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def json_nodes(doc: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path in a JSON document (the root excluded), in a fixed order."""
    out = []
    if isinstance(doc, dict):
        items = sorted(doc.items())
    elif isinstance(doc, list):
        items = list(enumerate(doc[:6]))  # a long list (a direction, a latent): its first few
    else:
        return out
    for k, v in items:
        out.append((*prefix, k))
        out.extend(json_nodes(v, (*prefix, k)))
    return out


# values a hostile file puts where a field should be
HOSTILE = (
    None,
    True,
    0,
    -1,
    1.5,
    2**70,
    -(2**70),
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    "",
    "x",
    "\udcff",
    [],
    [None],
    [[1, 2], [3]],
    {},
    {"a": 1},
    "DEEP",  # stands for deep_list() (Raw is not hashable nor comparable)
)


def hostile(i: int) -> Any:
    v = HOSTILE[i % len(HOSTILE)]
    return deep_list(3000) if v == "DEEP" else v


# -- the environment the cases start from (built in the worker) --------------------------------
def _headless_state(n: int = SESSION_POINTS, d: int = SESSION_DIM, file_names: tuple[str, ...] | None = None):
    """An ExplorerState with a model, a small labelled dataset and its encodings (no model runs);
    what tests/conftest.py's make_state builds."""
    import numpy as np

    from explorer.core.data import Dataset
    from explorer.core.state.explorer_state import ExplorerState
    from explorer.core.store.encoding import Encodings
    from explorer_models.vae import ModelInfo

    rng = np.random.default_rng(0)
    s = ExplorerState()
    s.set_model(ModelInfo(name="m", content_hash=SESSION_HASH, source="m.safetensors"), d, "cpu")
    labels = (rng.random((n, 1)) < 0.5).astype(np.float32)
    s.set_dataset(Dataset("x", np.zeros((n, 2, 2, 3), np.uint8), labels, ("a",), SESSION_FP, file_names))
    mu = rng.normal(size=(n, d)).astype(np.float32)
    logvar = rng.normal(size=(n, d)).astype(np.float32) - 2
    s.set_encodings(Encodings(mu, logvar, *(np.zeros(n, np.float32) for _ in range(3))))
    return s


def build_env(root: Path) -> Env:
    """The valid inputs every case starts from, under `root` (written once, identical each time)."""
    import numpy as np
    import safetensors.torch
    import torch
    from PIL import Image

    import explorer_models
    from explorer.core.io import session as S
    from explorer.core.space.vector_file import vector_to_json
    from explorer.core.space.vectors import mean_difference
    from explorer_models.checkpoint import FORMAT_KEY, FORMAT_VERSION, content_hash

    root.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    config = explorer_models.VAEConfig(arch="mlp", image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM, widths=(16,))
    model = explorer_models.build_model(config)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    digest = content_hash(config, tensors)
    training = {
        "dataset": "/data/pics",
        "dataset_fingerprint": "0" * 64,
        "images": 8,
        "epochs": 1,
        "batch_size": 32,
        "lr": 0.001,
        "seed": 0,
        "device": "CPU",
        "seconds": 0.5,
        "final_train": {"elbo": -100.0, "recon": 90.0, "kl": 10.0},
        "heldout": {"elbo": -101.0, "recon": 91.0, "kl": 10.0, "mse": 0.01},
        "heldout_dataset": "held out, 8 images",
        "command": "vae-explorer train --data /data/pics --out tiny.safetensors",
    }
    metadata = {
        FORMAT_KEY: str(FORMAT_VERSION),
        "config": config.to_json(),
        "name": "tiny",
        "label_names": json.dumps(["smiling", "glasses"]),
        "training": json.dumps(training, sort_keys=True),
        "content_sha256": digest,
    }
    ckpt_path = root / "tiny.safetensors"
    if ckpt_path.exists():  # a restarted worker: the file the cases so far were made from
        ckpt_bytes = ckpt_path.read_bytes()
    else:  # what save_checkpoint writes, its header in a fixed order (safetensors' order is random)
        header, body = st_parse(safetensors.torch.save(tensors, metadata=metadata))
        ckpt_bytes = st_build(json.dumps(header, sort_keys=True), body)
        ckpt_path.write_bytes(ckpt_bytes)

    data_dir = root / "pics"
    data_dir.mkdir(exist_ok=True)
    for i in range(N_IMAGES):
        p = data_dir / f"{i:02d}.png"
        if not p.exists():
            yy, xx = np.mgrid[0:8, 0:8]
            Image.fromarray(((xx * 30 + yy * i * 4) % 256).astype(np.uint8), "L").save(p)

    rng = np.random.default_rng(1)
    mu = rng.normal(size=(40, LATENT_DIM))
    y = (mu[:, 0] + 0.3 * rng.normal(size=40) > 0).astype(float)
    vec = mean_difference(mu, y, "smiling", data=str(data_dir))
    vector_doc = {
        "format": "vae-explorer.vectors",
        "version": 1,
        "model_hash": digest,
        "vectors": [{**vector_to_json(vec), "model_hash": digest}],
    }

    s = _headless_state()
    mu4 = s.encodings.mu
    s.add_vector(mean_difference(mu4, s.dataset.labels[:, 0], "a"))
    s.add_vector(mean_difference(mu4, (mu4[:, 1] > 0).astype(float), "b"))
    s.pin_data_point(7)
    s.set_slider(1, -1.25)
    s.set_raw_dims(2, 0)
    s.select("A", np.array([1, 2, 3]))
    s.strip.add_data_point(4)
    s.strip.add_pinned(moved=True)
    s.strip.set_spec(method="gauss", steps=5)
    s.strip.set_layout(padding=6, background=(1, 2, 3), captions=True)
    session_doc = json.loads(json.dumps(S.capture(s)))
    extra = formats().build_model_env(root)
    return Env(root, ckpt_path, ckpt_bytes, digest, data_dir, vector_doc, session_doc, extra)


# -- checkpoints ---------------------------------------------------------------------------------
def st_parse(data: bytes) -> tuple[dict, bytes]:
    n = struct.unpack("<Q", data[:8])[0]
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def st_build(header: dict | str | bytes, body: bytes) -> bytes:
    text = header if isinstance(header, (str, bytes)) else dumps(header)
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + body


def _ckpt_out(folder: Path, data: bytes, name: str = CKPT_NAME) -> Input:
    path = folder / name
    path.write_bytes(data)
    return Input(path=path)


def _rehash(meta: dict, body_header: dict, body: bytes) -> None:
    """Give `meta` the content hash of its config and the weights, when the config is one
    VAEConfig takes, so the case gets past the checksum to the field it is about."""
    try:
        import safetensors.torch

        from explorer_models.checkpoint import content_hash
        from explorer_models.config import VAEConfig

        tensors = safetensors.torch.load(st_build(body_header, body))
        meta["content_sha256"] = content_hash(VAEConfig.from_dict(json.loads(meta["config"])), tensors)
    except Exception:
        pass


def ck_meta(key: str, value: Any, env: Env, folder: Path) -> Input:
    """The header entry `key` set to `value` (a string, as safetensors wants, unless it is not)."""
    header, body = st_parse(env.ckpt_bytes)
    meta = header["__metadata__"]
    if value is _DELETE:
        meta.pop(key, None)
    else:
        meta[key] = value
    return _ckpt_out(folder, st_build(header, body))


def ck_json_entry(key: str, path: tuple, value: Any, env: Env, folder: Path) -> Input:
    """The JSON inside header entry `key` (config, label_names, training) edited at `path`."""
    header, body = st_parse(env.ckpt_bytes)
    meta = header["__metadata__"]
    doc = edit(json.loads(meta[key]), path, value)
    meta[key] = dumps(doc)
    if key == "config":
        _rehash(meta, {k: v for k, v in header.items() if k != "__metadata__"}, body)
    return _ckpt_out(folder, st_build(header, body))


def ck_json_random(key: str, pick: int, value_i: int, env: Env, folder: Path) -> Input:
    header, _ = st_parse(env.ckpt_bytes)
    doc = json.loads(header["__metadata__"][key])
    nodes = json_nodes(doc) or [()]
    return ck_json_entry(key, nodes[pick % len(nodes)], hostile(value_i), env, folder)


def ck_header(fn: Callable[[dict], Any], env: Env, folder: Path) -> Input:
    """The whole header JSON changed by fn (which returns the new header or its text)."""
    header, body = st_parse(env.ckpt_bytes)
    new = fn(header)
    return _ckpt_out(folder, st_build(header if new is None else new, body))


def ck_bytes(fn: Callable[[bytes], bytes], env: Env, folder: Path) -> Input:
    return _ckpt_out(folder, fn(env.ckpt_bytes))


def truncate_at(frac: float, data: bytes) -> bytes:
    return data[: int(frac * len(data))]


def truncate_to(n: int, data: bytes) -> bytes:
    return data[:n]


def flip_bits(positions: tuple[float, ...], bits: tuple[int, ...], data: bytes) -> bytes:
    b = bytearray(data)
    for frac, bit in zip(positions, bits):
        b[int(frac * len(b))] ^= 1 << bit
    return bytes(b)


def flip_in_header(frac: float, bit: int, data: bytes) -> bytes:
    n = struct.unpack("<Q", data[:8])[0]
    b = bytearray(data)
    b[8 + int(frac * n)] ^= 1 << bit
    return bytes(b)


def random_bytes(seed: int, size: int, data: bytes) -> bytes:
    return random.Random(seed).randbytes(size)


def header_length(n: int, data: bytes) -> bytes:
    return struct.pack("<Q", n) + data[8:]


def _set_tensor(name: str, key: str, value: Any):
    def fn(h: dict) -> dict:
        h[name][key] = value
        return h

    return fn


def _drop(key: str):
    def fn(h: dict) -> dict:
        h.pop(key, None)
        return h

    return fn


def _add_tensor(h: dict) -> dict:
    h["extra.weight"] = {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}
    return h


def _meta_as(value):
    def fn(h: dict) -> dict:
        h["__metadata__"] = value
        return h

    return fn


def _header_text(text: str | bytes):
    return lambda h: text


def checkpoint_files(rng: random.Random, n_bytes: int, n_json: int) -> list[tuple[str, Callable, str, str]]:
    """(name, make, expect, issue) for every malformed checkpoint file."""
    out: list[tuple[str, Callable, str, str]] = []

    def add(name, make, expect="error", issue=""):
        out.append((name, make, expect, issue))

    # the config JSON: wrong types, ranges, sizes
    config_values = {
        "latent_dim": [
            ("float", 2.0, "latent-dim-float"),
            ("float-2.5", 2.5, ""),
            ("str", "2", ""),
            ("bool", True, ""),
            ("zero", 0, ""),
            ("negative", -1, ""),
            ("huge", 10**6, ""),
            ("2^64", 2**64, ""),
            ("null", None, ""),
            ("list", [2], ""),
            ("dict", {"a": 1}, ""),
            ("nan", float("nan"), ""),
            ("inf", float("inf"), ""),
            ("1e308", 1e308, ""),
        ],
        "image_shape": [
            ("huge", [1, 100000, 100000], "config-huge-image"),
            ("huge-65536", [1, 65536, 65536], ""),
            ("2^40", [1, 2**40, 1], ""),
            ("negative", [1, -8, 8], ""),
            ("zero", [0, 8, 8], ""),
            ("nested", [[1], [8], [8]], ""),
            ("four-dims", [1, 8, 8, 8], ""),
            ("two-dims", [8, 8], ""),
            ("empty", [], ""),
            ("str", "1,8,8", ""),
            ("float", [1.5, 8, 8], ""),
            ("bools", [True, 8, 8], ""),
            ("null", None, ""),
            ("other-shape", [3, 8, 8], ""),
            ("nan", [1, float("nan"), 8], ""),
        ],
        "widths": [
            ("huge", [10**7], "config-huge-widths"),
            ("huge-pair", [10**5, 10**5], ""),
            ("2^40", [2**40], ""),
            ("empty", [], ""),
            ("zero", [0], ""),
            ("negative", [-16], ""),
            ("str", ["16"], ""),
            ("float", [16.5], ""),
            ("int", 16, ""),
            ("string", "16", ""),
            ("nested", [[16]], ""),
            ("many-layers", [16] * 500, ""),
            ("other", [32], ""),
        ],
        "arch": [("conv", "conv", ""), ("upper", "MLP", ""), ("int", 1, ""), ("null", None, ""), ("list", ["mlp"], "")],
        "beta": [
            ("str", "1", ""),
            ("negative", -1, ""),
            ("nan", float("nan"), ""),
            ("inf", float("inf"), ""),
            ("null", None, ""),
            ("list", [1], ""),
        ],
        "likelihood": [("int", 5, ""), ("null", None, ""), ("unknown", "poisson", ""), ("list", ["gaussian"], "")],
    }
    for key, values in config_values.items():
        for label, value, issue in values:
            add(f"config.{key}={label}", partial(ck_json_entry, "config", (key,), value), issue=issue)
    add("config.beta=0.5-rehashed", partial(ck_json_entry, "config", ("beta",), 0.5), expect="accept")
    add(
        "config.likelihood=bernoulli-rehashed", partial(ck_json_entry, "config", ("likelihood",), "bernoulli"), "accept"
    )
    add("config-extra-key", partial(ck_json_entry, "config", ("extra",), 1))
    add("config-missing-arch", partial(ck_json_entry, "config", ("arch",), _DELETE))
    add("config-missing-image-shape", partial(ck_json_entry, "config", ("image_shape",), _DELETE))
    for label, text in [
        ("list", "[]"),
        ("number", "5"),
        ("null", "null"),
        ("string", '"mlp"'),
        ("empty-object", "{}"),
        ("not-json", "{"),
        ("empty", ""),
        ("deep-list", "[" * DEEP + "]" * DEEP),
        ("deep-dict", '{"a": ' * DEEP + "1" + "}" * DEEP),
        ("nan-literal", "NaN"),
        ("lone-surrogate", '{"arch": "\\udcff"}'),
    ]:
        add(f"config-text={label}", partial(ck_meta, "config", text))
    add("config-deep-in-field", partial(ck_json_entry, "config", ("widths",), deep_list()))

    # label_names
    for label, value, issue in [
        ("int", 5, "label-names-int"),
        ("nested", [["smiling"], ["glasses", 1]], "label-names-nested"),
        ("ints", [1, 2], ""),
        ("string", "abc", ""),
        ("dict", {"a": 1}, ""),
        ("null", None, ""),
        ("nulls", [None], ""),
        ("deep", deep_list(), ""),
        ("huge-number", 10**400, ""),
    ]:
        add(f"label_names={label}", partial(ck_json_entry, "label_names", (), value), issue=issue)
    add("label_names=not-json", partial(ck_meta, "label_names", "[smiling"))
    add("label_names=many", partial(ck_json_entry, "label_names", (), [f"l{i}" for i in range(5000)]), "either")

    # training facts
    for label, path, value, issue in [
        ("list", (), [1, 2], "training-list"),
        ("int", (), 5, ""),
        ("string", (), "fast", ""),
        ("null", (), None, ""),
        ("final-empty", ("final_train",), {}, "training-final-empty"),
        ("final-list", ("final_train",), [1, 2, 3], ""),
        ("final-str-elbo", ("final_train", "elbo"), "x", ""),
        ("final-null-kl", ("final_train", "kl"), None, ""),
        ("heldout-int", ("heldout",), 5, ""),
        ("heldout-empty", ("heldout",), {}, ""),
        ("heldout-mse-str", ("heldout", "mse"), "x", ""),
        ("images-string", ("images",), "many", "training-images-string"),
        ("images-list", ("images",), [8], ""),
        ("images-huge", ("images",), 10**400, ""),  # a whole number: valid, if odd
        ("seconds-string", ("seconds",), "x", ""),
        ("seconds-null", ("seconds",), None, ""),
        ("seconds-nan", ("seconds",), float("nan"), ""),
        ("epochs-dict", ("epochs",), {"a": 1}, ""),
        ("command-int", ("command",), 5, ""),
        ("deep", (), deep_list(), ""),
        ("deep-field", ("final_train",), deep_dict(), ""),
    ]:
        expect = "either" if label == "images-huge" else "error"
        add(f"training={label}", partial(ck_json_entry, "training", path, value), expect, issue)
    add("training=not-json", partial(ck_meta, "training", "{"))

    # the other header entries
    add("format-missing", partial(ck_meta, "vae_explorer_format", _DELETE))
    add("format-2", partial(ck_meta, "vae_explorer_format", "2"))
    add("format-1.0", partial(ck_meta, "vae_explorer_format", "1.0"))
    add("format-int", partial(ck_meta, "vae_explorer_format", 1))
    add("hash-missing", partial(ck_meta, "content_sha256", _DELETE))
    add("hash-wrong", partial(ck_meta, "content_sha256", "0" * 64))
    add("hash-int", partial(ck_meta, "content_sha256", 5))
    add("name-missing", partial(ck_meta, "name", _DELETE), "accept")
    add("name-long", partial(ck_meta, "name", "n" * 200_000), "either")
    add("name-control-chars", partial(ck_meta, "name", "a\nb\x1b[31mc\x00"), "either")
    add("name-int", partial(ck_meta, "name", 5))
    add("label_names-raw-list", partial(ck_meta, "label_names", ["a"]))
    add("config-raw-object", partial(ck_meta, "config", {"arch": "mlp"}))
    add("metadata-missing", partial(ck_header, _drop("__metadata__")))
    add("metadata-list", partial(ck_header, _meta_as(["a"])))
    add("metadata-null", partial(ck_header, _meta_as(None)))

    # the tensors' own header entries
    add("tensor-dtype-F16", partial(ck_header, _set_tensor("decoder.0.weight", "dtype", "F16")))
    add("tensor-dtype-unknown", partial(ck_header, _set_tensor("decoder.0.weight", "dtype", "Q99")))
    add("tensor-shape-huge", partial(ck_header, _set_tensor("decoder.0.weight", "shape", [10**12, 10**12])))
    add("tensor-shape-reshaped", partial(ck_header, _set_tensor("decoder.0.weight", "shape", [32, 1])))
    add("tensor-shape-negative", partial(ck_header, _set_tensor("decoder.0.weight", "shape", [-16, -2])))
    add("tensor-offsets-past-end", partial(ck_header, _set_tensor("log_sigma", "data_offsets", [8976, 10**9])))
    add("tensor-offsets-reversed", partial(ck_header, _set_tensor("log_sigma", "data_offsets", [8980, 8976])))
    add("tensor-missing", partial(ck_header, _drop("log_sigma")))
    add("tensor-extra", partial(ck_header, _add_tensor))
    add("header-deep", partial(ck_header, _header_text("[" * DEEP + "]" * DEEP)))
    add("header-not-json", partial(ck_header, _header_text("{not json")))
    add("header-not-utf8", partial(ck_header, _header_text(b'{"__metadata__": {"name": "\xff\xfe"}}')))
    add("header-empty-object", partial(ck_header, _header_text("{}")), "either")

    # raw bytes: lengths, truncations, bit flips, noise
    add("empty-file", partial(ck_bytes, partial(truncate_to, 0)))
    add("header-length-huge", partial(ck_bytes, partial(header_length, 2**63)))
    add("header-length-past-end", partial(ck_bytes, partial(header_length, 50_000)))
    add("header-length-zero", partial(ck_bytes, partial(header_length, 0)))
    add("header-length-short", partial(ck_bytes, partial(header_length, 100)))
    for n in (1, 7, 8, 9, 500):
        add(f"truncated-to-{n}", partial(ck_bytes, partial(truncate_to, n)))
    add("truncated-last-byte", partial(ck_bytes, partial(truncate_at, 0.9999)))
    for i in range(n_bytes):
        r = rng.random()
        if i % 3 == 0:
            frac = rng.random()
            add(f"truncated-{frac:.4f}", partial(ck_bytes, partial(truncate_at, frac)))
        elif i % 3 == 1:
            k = 1 if r < 0.6 else rng.randint(2, 8)
            pos = tuple(rng.random() for _ in range(k))
            bits = tuple(rng.randrange(8) for _ in range(k))
            add(f"bitflip-{i}-x{k}", partial(ck_bytes, partial(flip_bits, pos, bits)), "either")
        elif r < 0.5:
            frac, bit = rng.random(), rng.randrange(8)
            add(f"header-bitflip-{i}", partial(ck_bytes, partial(flip_in_header, frac, bit)), "either")
        else:
            size = rng.choice((1, 16, 100, 9972, 65536))
            add(f"random-bytes-{i}-{size}", partial(ck_bytes, partial(random_bytes, rng.randrange(2**32), size)))
    # random hostile values anywhere in the config, label names or training facts
    for i in range(n_json):
        key = ("config", "label_names", "training")[i % 3]
        add(
            f"random-{key}-{i}",
            partial(ck_json_random, key, rng.randrange(10**6), rng.randrange(10**6)),
            "either",
        )
    return out


# -- vector files --------------------------------------------------------------------------------
def _json_out(folder: Path, name: str, doc: Any) -> Input:
    path = folder / name
    path.write_text(dumps(doc, indent=1), encoding="utf-8")
    return Input(path=path)


def _bytes_out(folder: Path, name: str, data: bytes) -> Input:
    path = folder / name
    path.write_bytes(data)
    return Input(path=path)


def doc_edit(which: str, path: tuple, value: Any, env: Env, folder: Path) -> Input:
    base = env.vector_doc if which == "vectors" else env.session_doc
    return _json_out(folder, VEC_NAME if which == "vectors" else SESSION_NAME, edit(base, path, value))


def doc_edits(which: str, edits: tuple, env: Env, folder: Path) -> Input:
    doc = env.vector_doc if which == "vectors" else env.session_doc
    for path, value in edits:
        doc = edit(doc, path, value)
    return _json_out(folder, VEC_NAME if which == "vectors" else SESSION_NAME, doc)


def doc_text(which: str, fn: Callable[[str], str | bytes], env: Env, folder: Path) -> Input:
    base = env.vector_doc if which == "vectors" else env.session_doc
    text = fn(dumps(base, indent=1))
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _bytes_out(folder, VEC_NAME if which == "vectors" else SESSION_NAME, data)


def doc_random(which: str, pick: int, value_i: int, env: Env, folder: Path) -> Input:
    base = env.vector_doc if which == "vectors" else env.session_doc
    nodes = json_nodes(base)
    return doc_edit(which, nodes[pick % len(nodes)], hostile(value_i), env, folder)


def cut(frac: float, text: str) -> str:
    return text[: int(frac * len(text))]


def const(value: str | bytes, text: str) -> str | bytes:
    return value


def bom(text: str) -> bytes:
    return b"\xef\xbb\xbf" + text.encode()


def latin1_garbage(text: str) -> bytes:
    return text.replace('"smiling"', '"sm\xefling"').replace('"a"', '"\xe9"').encode("latin-1", "replace") + b"\xff"


def vector_files(rng: random.Random, n_random: int) -> list[tuple[str, Callable, str, str]]:
    out: list[tuple[str, Callable, str, str]] = []

    def add(name, make, expect="error", issue=""):
        out.append((name, make, expect, issue))

    v0 = ("vectors", 0)
    for label, text in [
        ("empty", ""),
        ("not-json", "{nope"),
        ("array", "[]"),
        ("null", "null"),
        ("string", '"vectors"'),
        ("number", "5"),
        ("deep-list", "[" * DEEP + "]" * DEEP),
        ("deep-dict", '{"a": ' * DEEP + "1" + "}" * DEEP),
    ]:
        add(
            f"text={label}",
            partial(doc_text, "vectors", partial(const, text)),
            issue="vector-deep" if label == "deep-list" else "",
        )
    add("not-utf8", partial(doc_text, "vectors", latin1_garbage))
    add("utf8-bom", partial(doc_text, "vectors", bom), "either")
    for frac in (0.1, 0.5, 0.9, 0.99):
        add(f"truncated-{frac}", partial(doc_text, "vectors", partial(cut, frac)))
    for label, path, value, expect in [
        ("format-missing", ("format",), _DELETE, "error"),
        ("format-other", ("format",), "vae-explorer.session", "error"),
        ("version-2", ("version",), 2, "error"),
        ("version-str", ("version",), "1", "error"),
        ("version-float", ("version",), 1.0, "either"),
        ("version-bool", ("version",), True, "either"),
        ("model_hash-int", ("model_hash",), 5, "error"),
        ("model_hash-missing", ("model_hash",), _DELETE, "error"),
        ("vectors-missing", ("vectors",), _DELETE, "error"),
        ("vectors-dict", ("vectors",), {}, "error"),
        ("vectors-string", ("vectors",), "x", "error"),
        ("vectors-null", ("vectors",), None, "error"),
        ("vectors-empty", ("vectors",), [], "either"),
        ("vectors-ints", ("vectors",), [5], "error"),
        ("vectors-nulls", ("vectors",), [None], "error"),
        ("vectors-deep", ("vectors",), deep_list(), "error"),
        ("extra-key", ("extra",), 1, "accept"),
        ("name-missing", (*v0, "name"), _DELETE, "error"),
        ("name-int", (*v0, "name"), 5, "error"),
        ("name-list", (*v0, "name"), ["a"], "error"),
        ("name-control-chars", (*v0, "name"), "a\nb\x00", "either"),
        ("direction-missing", (*v0, "direction"), _DELETE, "error"),
        ("direction-string", (*v0, "direction"), "x", "error"),
        ("direction-empty", (*v0, "direction"), [], "error"),
        ("direction-1d", (*v0, "direction"), [1.0], "error"),
        ("direction-3d", (*v0, "direction"), [1.0, 2.0, 3.0], "error"),
        ("direction-nested", (*v0, "direction"), [[1.0, 2.0]], "error"),
        ("direction-strings", (*v0, "direction"), ["a", "b"], "error"),
        ("direction-nan", (*v0, "direction"), [float("nan"), 1.0], "error"),
        ("direction-inf", (*v0, "direction"), [float("inf"), 1.0], "error"),
        ("direction-huge", (*v0, "direction"), [1e308, 1e308], "error"),
        ("direction-zero", (*v0, "direction"), [0.0, 0.0], "error"),
        ("direction-denormal", (*v0, "direction"), [5e-324, 0.0], "error"),
        ("direction-bools", (*v0, "direction"), [True, False], "either"),
        ("direction-dict", (*v0, "direction"), {"a": 1}, "error"),
        ("direction-long", (*v0, "direction"), [0.5] * 1_000_000, "error"),
        ("direction-deep", (*v0, "direction"), deep_list(), "error"),
        ("std-nan", (*v0, "std"), float("nan"), "error"),
        ("std-inf", (*v0, "std"), float("inf"), "error"),
        ("std-minus-inf", (*v0, "std"), float("-inf"), "error"),
        ("std-huge", (*v0, "std"), 1e308, "error"),
        ("std-negative", (*v0, "std"), -1.0, "error"),
        ("std-zero", (*v0, "std"), 0.0, "either"),
        ("std-string", (*v0, "std"), "x", "error"),
        ("std-null", (*v0, "std"), None, "error"),
        ("std-list", (*v0, "std"), [1], "error"),
        ("std-bool", (*v0, "std"), True, "either"),
        ("method-unknown", (*v0, "method"), "x", "either"),
        ("method-int", (*v0, "method"), 5, "error"),
        ("quality-missing", (*v0, "quality"), _DELETE, "error"),
        ("quality-empty", (*v0, "quality"), {}, "error"),
        ("quality-list", (*v0, "quality"), [1, 2], "error"),
        ("quality-extra-key", (*v0, "quality", "extra"), 1, "error"),
        ("quality-auc-string", (*v0, "quality", "auc"), "x", "error"),
        ("quality-d-string", (*v0, "quality", "cohens_d"), "x", "error"),
        ("quality-n-string", (*v0, "quality", "n_positive"), "many", "error"),
        ("quality-n-float", (*v0, "quality", "n_negative"), 1.5, "error"),
        ("quality-n-2^70", (*v0, "quality", "n_positive"), 2**70, "error"),
        ("quality-d-huge", (*v0, "quality", "cohens_d"), 1e308, "either"),
        ("quality-auc-nan", (*v0, "quality", "auc"), float("nan"), "either"),
        ("label-int", (*v0, "label"), 5, "error"),
        ("confounders-string", (*v0, "confounders"), "abc", "error"),
        ("confounders-int", (*v0, "confounders"), 5, "error"),
        ("entry-model_hash-int", (*v0, "model_hash"), 5, "either"),
    ]:
        issue = "vector-huge-std" if label == "std-huge" else ""
        add(label, partial(doc_edit, "vectors", path, value), expect, issue)
    for i in range(n_random):
        add(f"random-{i}", partial(doc_random, "vectors", rng.randrange(10**6), rng.randrange(10**6)), "either")
    return out


# -- session files -------------------------------------------------------------------------------
def session_files(rng: random.Random, n_random: int) -> list[tuple[str, Callable, str, str]]:
    out: list[tuple[str, Callable, str, str]] = []

    def add(name, make, expect="error", issue=""):
        out.append((name, make, expect, issue))

    nan, inf = float("nan"), float("inf")
    for label, text, issue in [
        ("empty", "", ""),
        ("not-json", "{nope", ""),
        ("array", "[]", ""),
        ("deep-list", "[" * DEEP + "]" * DEEP, "session-deep"),
        ("deep-dict", '{"a": ' * DEEP + "1" + "}" * DEEP, ""),
    ]:
        add(f"text={label}", partial(doc_text, "session", partial(const, text)), issue=issue)
    add("not-utf8", partial(doc_text, "session", latin1_garbage))
    for frac in (0.05, 0.3, 0.6, 0.95):
        add(f"truncated-{frac}", partial(doc_text, "session", partial(cut, frac)))
    spec = ("strip", "spec")
    layout = (*spec, "layout")
    for label, path, value, expect, issue in [
        ("pinned-nan", ("pinned",), [nan] * 4, "error", "session-pinned-nan"),
        ("pinned-inf", ("pinned",), [inf, 0.0, 0.0, 0.0], "error", "session-pinned-inf"),
        ("pinned-huge", ("pinned",), [1e308] * 4, "error", ""),
        ("pinned-string", ("pinned",), "x", "error", ""),
        ("pinned-short", ("pinned",), [1.0, 2.0], "error", ""),
        ("pinned-nested", ("pinned",), [[1.0, 2.0, 3.0, 4.0]], "error", ""),
        ("pinned-int", ("pinned",), 5, "error", ""),
        ("pinned-deep", ("pinned",), deep_list(), "error", ""),
        ("projection-empty", ("projection",), [], "error", "session-projection-empty"),
        ("projection-raw-99", ("projection",), ["raw", 99, 0], "error", "session-raw-dims-99"),
        ("projection-raw-same-dim", ("projection",), ["raw", 1, 1], "error", "session-raw-same-dim"),
        ("projection-raw-negative", ("projection",), ["raw", -1, 0], "error", ""),
        ("projection-raw-strings", ("projection",), ["raw", "a", "b"], "error", ""),
        ("projection-raw-float", ("projection",), ["raw", 1.5, 0], "error", ""),
        ("projection-raw-2^70", ("projection",), ["raw", 2**70, 0], "error", ""),
        ("projection-raw-bools", ("projection",), ["raw", True, False], "either", ""),
        ("projection-vector-x", ("projection",), ["vector", "x"], "error", "session-projection-vector-x"),
        ("projection-vector-99", ("projection",), ["vector", 99], "error", ""),
        ("projection-vector-null", ("projection",), ["vector", None], "error", ""),
        ("projection-string", ("projection",), "pca", "either", ""),
        ("projection-int", ("projection",), 5, "error", ""),
        ("projection-unknown", ("projection",), ["tsne"], "either", ""),
        ("projection-null-head", ("projection",), [None], "either", ""),
        ("model-hash-int", ("model", "hash"), 5, "error", "session-model-hash-int"),
        ("model-hash-null", ("model", "hash"), None, "error", ""),
        ("model-hash-list", ("model", "hash"), ["a"], "error", ""),
        ("model-spec-int", ("model", "spec"), 5, "either", ""),
        ("model-missing", ("model",), _DELETE, "error", ""),
        ("model-string", ("model",), "x", "error", ""),
        ("data-fingerprint-int", ("data", "fingerprint"), 5, "error", ""),
        ("data-missing", ("data",), _DELETE, "error", ""),
        ("version-2", ("version",), 2, "error", ""),
        ("format-missing", ("format",), _DELETE, "error", ""),
        ("padding-20000", (*layout, "padding"), 20000, "error", "session-huge-padding"),
        ("padding-10^9", (*layout, "padding"), 10**9, "error", ""),
        ("padding-negative", (*layout, "padding"), -1, "error", ""),
        ("padding-string", (*layout, "padding"), "x", "error", ""),
        ("padding-float", (*layout, "padding"), 2.5, "error", ""),
        ("columns-huge", (*layout, "columns"), 10**9, "either", ""),
        ("columns-string", (*layout, "columns"), "x", "error", ""),
        ("scale-zero", (*layout, "scale"), 0, "error", ""),
        ("scale-float", (*layout, "scale"), 1.5, "error", ""),
        ("background-short", (*layout, "background"), [1, 2], "error", ""),
        ("background-300", (*layout, "background"), [300, 0, 0], "error", ""),
        ("background-string", (*layout, "background"), "white", "error", ""),
        ("background-nan", (*layout, "background"), [nan, 0, 0], "error", ""),
        ("layout-extra-key", (*layout, "extra"), 1, "error", ""),
        ("layout-list", layout, [1, 2], "error", ""),
        ("captions-string", (*layout, "captions"), "no", "error", ""),
        ("duration-10^9", (*spec, "animation", "duration_ms"), 10**9, "error", ""),
        ("duration-negative", (*spec, "animation", "duration_ms"), -5, "error", ""),
        ("duration-string", (*spec, "animation", "duration_ms"), "x", "error", ""),
        ("steps-huge", (*spec, "steps"), 10**9, "error", ""),
        ("steps-string", (*spec, "steps"), "8", "error", ""),
        ("steps-nan", (*spec, "steps"), nan, "error", ""),
        ("rows-huge", (*spec, "rows"), 10**9, "error", ""),
        ("kind-unknown", (*spec, "kind"), "x", "error", ""),
        ("method-int", (*spec, "method"), 5, "error", ""),
        ("sweep-from-nan", (*spec, "sweep_from"), nan, "error", ""),
        ("sweep-to-huge", (*spec, "sweep_to"), 1e308, "error", ""),
        ("spec-extra-key", (*spec, "extra"), 1, "error", ""),
        ("spec-list", spec, [1], "error", ""),
        ("spec-deep", spec, deep_dict(), "error", ""),
        ("keyframe-latent-nan", ("strip", "keyframes", 0, "latent"), [nan] * 4, "error", ""),
        ("keyframe-latent-short", ("strip", "keyframes", 0, "latent"), [1.0], "error", ""),
        ("keyframe-latent-string", ("strip", "keyframes", 0, "latent"), "x", "error", ""),
        ("keyframe-index-string", ("strip", "keyframes", 0, "index"), "x", "error", ""),
        ("keyframe-index-huge", ("strip", "keyframes", 0, "index"), 10**9, "error", ""),
        ("keyframe-index-2^70", ("strip", "keyframes", 0, "index"), 2**70, "error", ""),
        ("keyframe-index-negative", ("strip", "keyframes", 0, "index"), -1, "error", ""),
        ("keyframes-many", ("strip", "keyframes"), [{"latent": [0.0] * 4}] * 2000, "either", ""),
        ("vector_index-string", ("strip", "vector_index"), "x", "error", ""),
        ("vector_index-2^70", ("strip", "vector_index"), 2**70, "error", ""),
        ("strip-list", ("strip",), [1], "error", ""),
        ("selection-huge-index", ("selection", "A"), [10**9], "error", ""),
        ("selection-2^70", ("selection", "A"), [2**70], "error", ""),
        ("selection-second-2^70", ("selection", "B"), [1, 2**70], "error", ""),
        ("selection-many", ("selection", "A"), list(range(SESSION_POINTS)) * 2, "either", ""),
        ("slider-values-2^70", ("slider_values",), [2**70, 0], "error", ""),
        ("pinned-2^70", ("pinned",), [2**70, 0, 0, 0], "error", ""),
        ("padding-2^70", ("strip", "spec", "layout", "padding"), 2**70, "error", ""),
        ("selection-negative", ("selection", "A"), [-1], "error", ""),
        ("selection-strings", ("selection", "A"), ["x"], "error", ""),
        ("selection-floats", ("selection", "A"), [1.5], "error", ""),
        ("selection-nested", ("selection", "A"), [[1]], "error", ""),
        ("selection-int", ("selection", "A"), 5, "error", ""),
        ("selection-list", ("selection",), [1, 2], "error", ""),
        ("slider-values-strings", ("slider_values",), ["x", "y"], "error", ""),
        ("slider-values-nan", ("slider_values",), [nan, nan], "error", ""),
        ("slider-values-huge", ("slider_values",), [1e308, 1e308], "error", ""),
        ("slider-values-short", ("slider_values",), [0.0], "error", ""),
        ("orthogonalise-string", ("orthogonalise",), "no", "error", ""),
        ("fill-mode-int", ("fill_mode",), 5, "either", ""),
        ("colour-list", ("colour",), [], "error", ""),
        ("vectors-dict", ("vectors",), {}, "error", ""),
        ("vector-std-nan", ("vectors", 0, "std"), nan, "error", ""),
        ("vector-std-huge", ("vectors", 0, "std"), 1e308, "error", ""),
        ("vector-direction-nan", ("vectors", 0, "direction"), [nan] * 4, "error", ""),
        ("vector-direction-short", ("vectors", 0, "direction"), [1.0], "error", ""),
        ("vector-quality-empty", ("vectors", 0, "quality"), {}, "error", ""),
    ]:
        add(label, partial(doc_edit, "session", path, value), expect, issue)
    add(
        "originals-keyframe-index-huge",
        partial(doc_edits, "session", (((*spec, "originals"), True), (("strip", "keyframes", 0, "index"), 10**9))),
    )
    add(
        "originals-keyframe-index-negative",
        partial(doc_edits, "session", (((*spec, "originals"), True), (("strip", "keyframes", 0, "index"), -1))),
    )
    add(
        "projection-vector-with-orthogonalise",
        partial(doc_edits, "session", ((("projection",), ["vector", 1]), (("orthogonalise",), True))),
        "accept",
    )
    for i in range(n_random):
        add(f"random-{i}", partial(doc_random, "session", rng.randrange(10**6), rng.randrange(10**6)), "either")
    return out


# -- CLI options ---------------------------------------------------------------------------------
def cli_argv(template: tuple[str, ...], env: Env, folder: Path, files: tuple = ()) -> Input:
    """argv from a template: {model} {data} {folder} are filled in; `files` are (name, bytes)
    written into the folder first (an existing --out, a bad model file)."""
    for name, data in files:
        (folder / name).write_bytes(data if isinstance(data, bytes) else data(env))
    subs = {"model": str(env.ckpt_path), "data": str(env.data_dir), "folder": str(folder)}
    return Input(path=folder, argv=tuple(a.format(**subs) for a in template))


def cli_with_input(make: Callable, template: tuple[str, ...], env: Env, folder: Path) -> Input:
    """The input `make` writes, fed to the CLI: {path} in the template names it."""
    made = make(env, folder)
    subs = {"model": str(env.ckpt_path), "data": str(env.data_dir), "folder": str(folder), "path": str(made.path)}
    return Input(path=made.path, argv=tuple(a.format(**subs) for a in template))


STRIP = ("strip", "--model", "{model}", "--data", "{data}", "--device", "cpu", "--from", "0")
STRIP_TO = (*STRIP, "--to", "1")
OUT_PNG = ("--out", "{folder}/out.png")
FIG_OUTPUTS = ("out.png", "out.png.json", "out.gif", "out.gif.json", "out.apng", "out.apng.json")
GRID = ("grid", "--model", "{model}", "--data", "{data}", "--device", "cpu")
TRAIN = ("train", "--data", "{data}", "--device", "cpu", "--out", "{folder}/m.safetensors", "--epochs", "1")
TRAIN_MLP = (*TRAIN, "--arch", "mlp", "--image-size", "8", "--channels", "1", "--latent-dim", "2")


def _valid_vector_file(env: Env) -> bytes:
    return dumps(env.vector_doc).encode()


def _truncated_ckpt(env: Env) -> bytes:
    return env.ckpt_bytes[:500]


def cli_option_cases() -> list[tuple[str, str, tuple, dict]]:
    """(kind, name, argv template, Case fields) for CLI options out of bounds."""
    out: list[tuple[str, str, tuple, dict]] = []

    def add(kind, name, argv, **kw):
        out.append((kind, name, tuple(argv), kw))

    via300 = ["--via", *[str(i % 8) for i in range(300)]]
    strip_cases = [
        ("padding-20000", ["--padding", "20000"], "--padding", "strip-padding-20000", "error"),
        ("padding-100000", ["--padding", "100000"], "--padding", "strip-padding-100000", "error"),
        ("padding-10^12", ["--padding", str(10**12)], "--padding", "", "error"),
        ("padding-negative", ["--padding", "-1"], "--padding", "", "error"),
        ("padding-float", ["--padding", "2.5"], "--padding", "", "error"),
        ("scale-zero", ["--scale", "0"], "--scale", "", "error"),
        ("scale-10^9", ["--scale", str(10**9)], "--scale", "", "error"),
        ("scale-16-padding-5000", ["--scale", "16", "--padding", "5000"], "--padding", "", "error"),
        (
            "duration-1e9",
            ["--duration", "1e9", "--out", "{folder}/out.gif"],
            "--duration",
            "strip-duration-1e9",
            "error",
        ),
        ("duration-10^9", ["--duration", str(10**9), "--out", "{folder}/out.gif"], "--duration", "", "error"),
        (
            "duration-negative",
            ["--duration", "-5", "--out", "{folder}/out.gif"],
            "--duration",
            "strip-duration-negative",
            "error",
        ),
        ("duration-zero-apng", ["--duration", "0", "--out", "{folder}/out.apng"], "--duration", "", "error"),
        ("steps-64-via-300", ["--steps", "64", *via300], "--via", "strip-via-300-steps-64", "error"),
        ("steps-10^6", ["--steps", str(10**6)], "--steps", "", "error"),
        ("steps-1", ["--steps", "1"], "--steps", "", "error"),
        ("steps-negative", ["--steps", "-3"], "--steps", "", "error"),
        ("steps-2^70", ["--steps", str(2**70)], "--steps", "", "error"),
        ("via-huge-index", ["--via", str(10**9)], "--via", "", "error"),
        ("via-negative", ["--via", "-1"], "--via", "", "error"),
        ("columns-negative", ["--columns", "-1"], "--columns", "", "error"),
        ("columns-10^9", ["--columns", str(10**9)], "--columns", "", "either"),
        ("background-nonsense", ["--background", "nonsense"], "--background", "", "error"),
        ("background-bad-hex", ["--background", "#gggggg"], "--background", "", "error"),
        ("background-300", ["--background", "300,0,0"], "--background", "", "error"),
        ("background-two", ["--background", "1,2"], "--background", "", "error"),
        ("background-empty", ["--background", ""], "--background", "", "error"),
        ("method-unknown", ["--method", "cubic"], "--method", "", "error"),
        ("device-unknown", ["--device", "tpu"], "--device", "", "error"),
        ("device-cuda-99", ["--device", "cuda:99"], "--device", "", "error"),
        ("captions-many-steps", ["--captions", "--steps", "64"], "--steps", "", "accept"),
    ]
    for name, extra, option, issue, expect in strip_cases:
        has_out = "--out" in extra
        also = ("--steps", "steps") if "--steps" in extra else ()  # a strip too long may name its steps
        add(
            "cli-strip",
            name,
            [*STRIP_TO, *extra, *([] if has_out else OUT_PNG)],
            names=(option, option.lstrip("-"), *also),
            issue=issue,
            expect=expect,
            outputs=FIG_OUTPUTS,
        )
    for name, extra, option in [
        ("from-negative", ["--to", "1", "--from", "-1"], "--from"),
        ("from-2^70", ["--to", "1", "--from", str(2**70)], "--from"),
        ("to-past-end", ["--to", "99"], "--to"),
        ("range-nan", ["--vector", "{folder}/v.json", "--range", "nan", "nan"], "--range"),
        ("range-inf", ["--vector", "{folder}/v.json", "--range", "0", "inf"], "--range"),
        ("range-huge", ["--vector", "{folder}/v.json", "--range", "0", "1e308"], "--range"),
        ("vector-missing-file", ["--vector", "{folder}/nope.json"], "--vector"),
        ("vector-and-via", ["--vector", "{folder}/v.json", "--via", "2"], "--via"),
        ("vector-is-folder", ["--vector", "{folder}"], "--vector"),
    ]:
        add(
            "cli-strip",
            name,
            [*STRIP, *extra, *OUT_PNG],
            names=(option, option.lstrip("-")),
            outputs=FIG_OUTPUTS,
            files=(("v.json", _valid_vector_file),),
        )
    add(
        "cli-strip",
        "range-100-sd",
        [*STRIP, "--vector", "{folder}/v.json", "--range", "-100", "100", *OUT_PNG],
        names=("--range",),
        outputs=FIG_OUTPUTS,
        files=(("v.json", _valid_vector_file),),
        expect="either",
    )
    # --out: where a figure may not go; an existing file must stay as it was
    for name, out_args, files in [
        ("out-missing-folder", ["--out", "{folder}/no/such/out.png"], ()),
        ("out-is-folder", ["--out", "{folder}"], ()),
        ("out-bad-suffix", ["--out", "{folder}/out.txt"], ()),
        ("out-exists", ["--out", "{folder}/out.png"], (("out.png", b"keep me"),)),
        (
            "out-exists-force-bad-padding",
            ["--out", "{folder}/out.png", "--force", "--padding", "-1"],
            (("out.png", b"keep me"),),
        ),
        (
            "out-exists-force-bad-data-point",
            ["--out", "{folder}/out.png", "--force", "--via", "999"],
            (("out.png", b"keep me"),),
        ),
    ]:
        add(
            "cli-strip",
            name,
            [*STRIP_TO, *out_args],
            names=("--out", "out.png", "--padding", "--via", "{folder}"),
            files=files,
            outputs=(),
        )
    long = "x" * 300
    for name, out_args in [
        ("out-long-name", ["--out", "{folder}/" + long + ".png"]),
        ("out-null-byte", ["--out", "{folder}/o\x00.png"]),
        ("out-long-folder", ["--out", "{folder}/" + long + "/out.png"]),
    ]:
        add("cli-strip", name, [*STRIP_TO, *out_args], names=("--out", "{folder}"))
    add(
        "cli-strip",
        "vector-long-name",
        [*STRIP, "--vector", "{folder}/" + long + ".json", *OUT_PNG],
        names=("--vector", "{folder}"),
    )
    add(
        "cli-strip",
        "vector-null-byte",
        [*STRIP, "--vector", "{folder}/v\x00.json", *OUT_PNG],
        names=("--vector", "{folder}"),
    )
    add(
        "cli-vector",
        "out-long-name",
        [
            "vector",
            "--model",
            "{model}",
            "--data",
            "{data}",
            "--device",
            "cpu",
            "--label",
            "x",
            "--out",
            "{folder}/" + long + ".json",
        ],
        names=("--out", "{folder}"),
    )
    add(
        "cli-train",
        "out-long-name",
        [*TRAIN_MLP[:5], "--out", "{folder}/" + long + ".safetensors", *TRAIN_MLP[7:]],
        names=("--out", "{folder}"),
        timeout=25.0,
    )
    # --model and --data that are not what they should be
    for name, spec, files in [
        ("model-missing", "{folder}/nope.safetensors", ()),
        ("model-folder", "{folder}", ()),
        ("model-pickle", "{folder}/m.pt", (("m.pt", b"\x80\x04K\x01."),)),
        ("model-empty", "{folder}/m.safetensors", (("m.safetensors", b""),)),
        ("model-truncated", "{folder}/m.safetensors", (("m.safetensors", _truncated_ckpt),)),
        ("model-text", "{folder}/m.safetensors", (("m.safetensors", b"hello"),)),
        ("model-empty-spec", "", ()),
        ("model-builtin-unknown", "builtin:nope", ()),
        ("model-null-byte", "{folder}/m\x00.safetensors", ()),
        ("model-long-name", "{folder}/" + "m" * 300 + ".safetensors", ()),
    ]:
        add(
            "cli-strip",
            name,
            ["strip", "--model", spec, "--data", "{data}", "--device", "cpu", "--from", "0", "--to", "1", *OUT_PNG],
            names=("--model", "{folder}", "builtin:nope"),
            files=files,
        )
    for name, spec, files in [
        ("data-missing", "{folder}/nope", ()),
        ("data-file", "{folder}/f.png", (("f.png", b"x"),)),
        ("data-empty-folder", "{folder}", ()),
        ("data-not-images", "{folder}", (("a.png", b"not a png"), ("b.jpg", b"\xff\xd8 nope"))),
        ("data-builtin-unknown", "builtin:nope", ()),
        ("data-null-byte", "{folder}/d\x00", ()),
        ("data-long-name", "{folder}/" + "d" * 300, ()),
    ]:
        add(
            "cli-strip",
            name,
            ["strip", "--model", "{model}", "--data", spec, "--device", "cpu", "--from", "0", "--to", "1", *OUT_PNG],
            names=("--data", "{folder}", "builtin:nope"),
            files=files,
        )

    # grid
    for name, extra, option in [
        ("size-1000", ["--corners", "0", "1", "2", "3", "--size", "1000", "1000"], "--size"),
        ("size-zero", ["--corners", "0", "1", "2", "3", "--size", "0", "0"], "--size"),
        ("size-2^40", ["--corners", "0", "1", "2", "3", "--size", str(2**40), "2"], "--size"),
        ("corner-past-end", ["--corners", "0", "1", "2", "99"], "--corners"),
        ("analogy-negative", ["--analogy", "-1", "0", "1"], "--analogy"),
        ("padding-20000", ["--corners", "0", "1", "2", "3", "--padding", "20000"], "--padding"),
        (
            "scale-16-size-32-padding-2000",
            ["--corners", "0", "1", "2", "3", "--size", "32", "32", "--scale", "16", "--padding", "2000"],
            "--padding",
        ),
        (
            "duration-negative",
            ["--corners", "0", "1", "2", "3", "--duration", "-5", "--out", "{folder}/out.gif"],
            "--duration",
        ),
    ]:
        has_out = "--out" in extra
        add(
            "cli-grid",
            name,
            [*GRID, *extra, *([] if has_out else OUT_PNG)],
            names=(option, option.lstrip("-")),
            outputs=FIG_OUTPUTS,
        )

    # info and vector
    add("cli-info", "model-empty-spec", ["info", "--model", ""], names=("--model", "model"))
    add("cli-info", "model-folder", ["info", "--model", "{folder}"], names=("{folder}",))
    add("cli-info", "model-builtin-unknown", ["info", "--model", "builtin:nope"], names=("builtin:nope",))
    add(
        "cli-vector",
        "no-labels",
        [
            "vector",
            "--model",
            "{model}",
            "--data",
            "{data}",
            "--device",
            "cpu",
            "--label",
            "smiling",
            "--out",
            "{folder}/v.json",
        ],
        names=("{data}", "smiling"),
    )
    add(
        "cli-vector",
        "out-missing-folder",
        [
            "vector",
            "--model",
            "{model}",
            "--data",
            "{data}",
            "--device",
            "cpu",
            "--label",
            "x",
            "--out",
            "{folder}/no/v.json",
        ],
        names=("--out",),
    )

    # train
    train_cases = [
        ("image-size-100000", [*TRAIN, "--image-size", "100000"], "--image-size", "train-image-size-100000", "error"),
        (
            "mlp-image-size-5000",
            [*TRAIN, "--arch", "mlp", "--image-size", "5000"],
            "--image-size",
            "train-mlp-image-size-5000",
            "error",
        ),
        ("seed-2^70", [*TRAIN_MLP, "--seed", str(2**70)], "--seed", "train-seed-2^70", "error"),
        ("seed-negative", [*TRAIN_MLP, "--seed", "-1"], "--seed", "", "either"),
        ("image-size-zero", [*TRAIN, "--image-size", "0"], "--image-size", "", "error"),
        ("image-size-negative", [*TRAIN, "--arch", "mlp", "--image-size", "-8"], "--image-size", "", "error"),
        ("latent-dim-zero", [*TRAIN_MLP[:-1], "0"], "--latent-dim", "", "error"),
        ("latent-dim-10^9", [*TRAIN_MLP[:-1], str(10**9)], "--latent-dim", "", "error"),
        ("latent-dim-5000", [*TRAIN_MLP[:-1], "5000"], "--latent-dim", "", "error"),
        ("epochs-zero", [*TRAIN_MLP, "--epochs", "0"], "--epochs", "", "error"),
        ("batch-size-negative", [*TRAIN_MLP, "--batch-size", "-1"], "--batch-size", "", "error"),
        ("batch-size-10^9", [*TRAIN_MLP, "--batch-size", str(10**9)], "--batch-size", "", "either"),
        ("lr-nan", [*TRAIN_MLP, "--lr", "nan"], "--lr", "", "error"),
        ("lr-inf", [*TRAIN_MLP, "--lr", "inf"], "--lr", "", "error"),
        ("lr-zero", [*TRAIN_MLP, "--lr", "0"], "--lr", "", "error"),
        ("beta-nan", [*TRAIN_MLP, "--beta", "nan"], "--beta", "", "error"),
        ("beta-negative", [*TRAIN_MLP, "--beta", "-1"], "--beta", "", "error"),
        ("channels-2", [*TRAIN_MLP, "--channels", "2"], "--channels", "", "error"),
        ("arch-unknown", [*TRAIN, "--arch", "resnet"], "--arch", "", "error"),
        ("out-not-safetensors", ["train", "--data", "{data}", "--out", "{folder}/m.pt"], "--out", "", "error"),
        (
            "data-missing",
            ["train", "--data", "{folder}/nope", "--out", "{folder}/m.safetensors"],
            "--data",
            "",
            "error",
        ),
        ("name-control-chars", [*TRAIN_MLP, "--name", "a\nb\x1b[0m"], "--name", "", "either"),
        ("name-long", [*TRAIN_MLP, "--name", "n" * 100_000], "--name", "", "either"),
    ]
    for name, argv, option, issue, expect in train_cases:
        add(
            "cli-train",
            name,
            argv,
            names=(option, option.lstrip("-"), "{folder}"),
            issue=issue,
            expect=expect,
            outputs=("m.safetensors",),
            timeout=25.0,
        )
    return out


# -- files and names -----------------------------------------------------------------------------
def chmod_blocks_reads() -> bool:
    """Whether a folder with mode 000 keeps this process out (not as root, nor with CAP_DAC_*)."""
    with tempfile.TemporaryDirectory(prefix="fuzz-chmod-") as d:
        locked = Path(d) / "locked"
        locked.mkdir()
        (locked / "f").write_bytes(b"x")
        locked.chmod(0)
        try:
            (locked / "f").read_bytes()
            blocked = False
        except PermissionError:
            blocked = True
        finally:
            locked.chmod(stat.S_IRWXU)
    return blocked


def _png_bytes(size: int = 8, value: int = 128) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (size, size), value).save(buf, format="PNG")
    return buf.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be width x height and has no pixel data."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def f_locked_checkpoint(env: Env, folder: Path) -> Input:
    locked = folder / "locked"
    locked.mkdir()
    path = locked / CKPT_NAME
    path.write_bytes(env.ckpt_bytes)
    locked.chmod(0)
    return Input(path=path)


def f_unreadable_checkpoint(env: Env, folder: Path) -> Input:
    path = folder / CKPT_NAME
    path.write_bytes(env.ckpt_bytes)
    path.chmod(0)
    return Input(path=path)


def f_locked_data_subfolder(env: Env, folder: Path) -> Input:
    data = folder / "pics"
    data.mkdir()
    for i in range(3):
        (data / f"{i}.png").write_bytes(_png_bytes(8, 40 * i))
    (data / "sub").mkdir()
    (data / "sub" / "x.png").write_bytes(_png_bytes())
    (data / "sub").chmod(0)
    return Input(path=data)


def f_fifo_checkpoint(env: Env, folder: Path) -> Input:
    path = folder / CKPT_NAME
    os.mkfifo(path)
    return Input(path=path)


def f_devzero_checkpoint(env: Env, folder: Path) -> Input:
    path = folder / CKPT_NAME
    path.symlink_to("/dev/zero")
    return Input(path=path)


def f_symlink_loop(env: Env, folder: Path) -> Input:
    path = folder / CKPT_NAME
    path.symlink_to(path)
    return Input(path=path)


def f_dangling_symlink(env: Env, folder: Path) -> Input:
    path = folder / CKPT_NAME
    path.symlink_to(folder / "nowhere")
    return Input(path=path)


def f_non_utf8_checkpoint_name(env: Env, folder: Path) -> Input:
    raw = os.path.join(os.fsencode(folder), b"mod\xff\xfeel.safetensors")
    with open(raw, "wb") as f:
        f.write(env.ckpt_bytes)
    return Input(path=Path(os.fsdecode(raw)))


def f_dataset(files: tuple[tuple[bytes, str], ...], env: Env, folder: Path) -> Input:
    """A folder of images; each (raw name, content) with content 'png', 'bomb', 'empty', 'fifo',
    'text', or 'loop' (a symlink to the folder itself)."""
    data = folder / "pics"
    data.mkdir()
    root = os.fsencode(data)
    for i in range(3):
        (data / f"{i}.png").write_bytes(_png_bytes(8, 40 * i))
    for raw_name, content in files:
        target = os.path.join(root, raw_name)
        if content == "fifo":
            os.mkfifo(target)
        elif content == "loop":
            os.symlink(root, target)
        else:
            payload = {
                "png": _png_bytes(),
                "bomb": _png_header_only(100_000, 100_000),
                "big": _png_header_only(20_000, 20_000),
                "empty": b"",
                "text": b"not an image",
            }[content]
            with open(target, "wb") as f:
                f.write(payload)
    return Input(path=data)


def dataset_argv(make: Callable, template: tuple[str, ...], env: Env, folder: Path) -> Input:
    made = make(env, folder)
    subs = {"model": str(env.ckpt_path), "data": str(made.path), "folder": str(folder)}
    return Input(path=made.path, argv=tuple(a.format(**subs) for a in template))


def file_cases() -> list[Case]:
    out: list[Case] = []
    if chmod_blocks_reads():  # as root (or with CAP_DAC_OVERRIDE) chmod 000 keeps nobody out
        out.append(
            Case(
                "files", "checkpoint-in-unreadable-folder", f_locked_checkpoint, "load_model", issue="unreadable-folder"
            )
        )
        out.append(Case("files", "unreadable-checkpoint", f_unreadable_checkpoint, "load_model"))
        out.append(
            Case(
                "files",
                "info-checkpoint-in-unreadable-folder",
                partial(cli_with_input, f_locked_checkpoint, ("info", "--model", "{path}")),
                "cli",
            )
        )
        out.append(Case("files", "dataset-unreadable-subfolder", f_locked_data_subfolder, "dataset", expect="either"))
    out += [
        Case("files", "checkpoint-is-fifo", f_fifo_checkpoint, "load_model", timeout=5.0),
        Case("files", "checkpoint-is-dev-zero", f_devzero_checkpoint, "load_model"),
        Case("files", "checkpoint-symlink-loop", f_symlink_loop, "load_model"),
        Case("files", "checkpoint-dangling-symlink", f_dangling_symlink, "load_model"),
        Case("files", "checkpoint-non-utf8-name", f_non_utf8_checkpoint_name, "load_model", expect="either"),
        Case(
            "files",
            "info-checkpoint-non-utf8-name",
            partial(cli_with_input, f_non_utf8_checkpoint_name, ("info", "--model", "{path}")),
            "cli",
            expect="either",
        ),
    ]
    nonutf8 = ((b"bad-\xff\xfe.png", "png"),)
    datasets = [
        ("non-utf8-name", nonutf8, "either", "dataset-non-utf8-name"),
        ("non-utf8-name-broken", ((b"bad-\xff.png", "text"),), "either", ""),
        ("non-utf8-folder", ((b"sub-\xff", "loop"),), "either", ""),
        ("empty-image", ((b"empty.png", "empty"),), "either", ""),
        ("decompression-bomb", ((b"bomb.png", "bomb"),), "either", ""),
        ("huge-declared-png", ((b"big.png", "big"),), "either", ""),
        ("fifo-image", ((b"pipe.png", "fifo"),), "either", ""),
        ("symlink-loop", ((b"loop", "loop"),), "either", ""),
        ("newline-name", ((b"a\nb.png", "png"),), "either", ""),
    ]
    for name, files, expect, issue in datasets:
        make = partial(f_dataset, files)
        out.append(Case("files", f"dataset-{name}", make, "dataset", expect=expect, issue=issue, timeout=6.0))
    out.append(
        Case(
            "files",
            "train-dataset-non-utf8-name",
            partial(dataset_argv, partial(f_dataset, nonutf8), TRAIN_MLP),
            "cli",
            expect="either",
            issue="train-non-utf8-name",
            outputs=("m.safetensors",),
            timeout=25.0,
            names=("--data",),
        )
    )
    out.append(
        Case(
            "files",
            "strip-dataset-non-utf8-name",
            partial(
                dataset_argv,
                partial(f_dataset, nonutf8),
                (
                    "strip",
                    "--model",
                    "{model}",
                    "--data",
                    "{data}",
                    "--device",
                    "cpu",
                    "--from",
                    "0",
                    "--to",
                    "1",
                    *OUT_PNG,
                ),
            ),
            "cli",
            expect="either",
            outputs=FIG_OUTPUTS,
            names=("--data",),
        )
    )
    out.append(
        Case("files", "vector-file-non-utf8-name", partial(_non_utf8_doc, "vectors"), "vectors", expect="accept")
    )
    out.append(
        Case("files", "session-file-non-utf8-name", partial(_non_utf8_doc, "session"), "session", expect="accept")
    )
    return out


def _non_utf8_doc(which: str, env: Env, folder: Path) -> Input:
    doc = env.vector_doc if which == "vectors" else env.session_doc
    raw = os.path.join(os.fsencode(folder), b"doc-\xff.json")
    with open(raw, "wb") as f:
        f.write(dumps(doc).encode())
    return Input(path=Path(os.fsdecode(raw)))


# -- selection exports (a path to write) ---------------------------------------------------------
def sel_target(rel: bytes, existing: str, variant: str, env: Env, folder: Path) -> Input:
    """The path the selection is exported to, `rel` under the folder; `existing` is "dir" or
    "file" when something is there already."""
    target = os.path.join(os.fsencode(folder), rel)
    if existing == "dir":
        os.makedirs(target)
    elif existing == "file":
        with open(target, "wb") as f:
            f.write(b"keep me")
    return Input(path=Path(os.fsdecode(target)), variant=variant)


def selection_cases() -> list[Case]:
    out = []
    for name, rel, existing, variant, expect in [
        ("csv", b"sel.csv", "", "", "accept"),
        ("npz", b"sel.npz", "", "", "accept"),
        ("folder-named-csv", b"sel.csv", "dir", "", "error"),
        ("missing-folder", b"no/sel.csv", "", "", "error"),
        ("bad-suffix", b"sel.txt", "", "", "error"),
        ("no-suffix", b"sel", "", "", "error"),
        ("exists", b"sel.csv", "file", "", "error"),
        ("long-name", b"s" * 300 + b".csv", "", "", "error"),
        ("null-byte", b"s\x00.csv", "", "", "error"),
        ("non-utf8-target-name", b"sel-\xff.csv", "", "", "either"),
        ("nothing-selected", b"sel.csv", "", "empty", "error"),
        ("non-utf8-file-names-csv", b"sel.csv", "", "nonutf8-names", "either"),
        ("non-utf8-file-names-npz", b"sel.npz", "", "nonutf8-names", "either"),
    ]:
        outputs = (os.fsdecode(rel),) if expect != "error" else ()
        out.append(
            Case(
                "selection-export",
                name,
                partial(sel_target, rel, existing, variant),
                "selection",
                expect=expect,
                outputs=outputs,
            )
        )
    return out


# -- controls: valid inputs -----------------------------------------------------------------------
def control_cases() -> list[Case]:
    valid_ckpt = partial(ck_bytes, bytes)  # the base file, unchanged
    return [
        Case("control", "checkpoint", valid_ckpt, "load_model", expect="accept"),
        Case(
            "control",
            "info",
            partial(cli_with_input, valid_ckpt, ("info", "--model", "{path}")),
            "cli",
            expect="accept",
        ),
        Case("control", "vectors", partial(doc_edits, "vectors", ()), "vectors", expect="accept"),
        Case("control", "session", partial(doc_edits, "session", ()), "session", expect="accept"),
        Case("control", "strip", partial(cli_argv, (*STRIP_TO, *OUT_PNG)), "cli", expect="accept", outputs=FIG_OUTPUTS),
        Case(
            "control",
            "strip-vector",
            partial(cli_with_input, partial(doc_edits, "vectors", ()), (*STRIP, "--vector", "{path}", *OUT_PNG)),
            "cli",
            expect="accept",
            outputs=FIG_OUTPUTS,
        ),
        Case(
            "control",
            "grid",
            partial(cli_argv, (*GRID, "--corners", "0", "1", "2", "3", *OUT_PNG)),
            "cli",
            expect="accept",
            outputs=FIG_OUTPUTS,
        ),
        Case(
            "control",
            "train",
            partial(cli_argv, TRAIN_MLP),
            "cli",
            expect="accept",
            outputs=("m.safetensors",),
            timeout=25.0,
        ),
        Case("control", "dataset", partial(f_dataset, ()), "dataset", expect="accept"),
    ]


# -- all of them ----------------------------------------------------------------------------------
def _scaled(total: int | None) -> dict[str, int]:
    """Random cases per family: the defaults, or scaled up so the run has about `total` cases
    (checkpoint and vector files each make two cases, through the API and the CLI)."""
    if not total:
        return dict(DEFAULT_RANDOM)
    extra = max(0, total - len(generate_cases(DEFAULT_SEED, None)))
    per = {"checkpoint-bytes": 2, "checkpoint-json": 2, "vectors": 2, "session": 1}
    per.update({"model-bytes": 1, "image-bytes": 1, "data-bytes": 1})
    share = sum(DEFAULT_RANDOM[k] * per[k] for k in DEFAULT_RANDOM)
    return {k: v + math.ceil(extra * v / share) for k, v in DEFAULT_RANDOM.items()}


def generate_cases(seed: int = DEFAULT_SEED, total: int | None = None) -> list[Case]:
    """Every case, in a fixed order: the same list for the same (seed, total) in any process."""
    n = _scaled(total)
    rng = random.Random(seed)
    cases: list[Case] = list(control_cases())
    ckpts = checkpoint_files(random.Random(rng.randrange(2**32)), n["checkpoint-bytes"], n["checkpoint-json"])
    for name, make, expect, issue in ckpts:
        cases.append(Case("checkpoint", name, make, "load_model", expect=expect, issue=issue and f"checkpoint-{issue}"))
    for name, make, expect, issue in ckpts:
        cases.append(
            Case(
                "cli-info",
                name,
                partial(cli_with_input, make, ("info", "--model", "{path}")),
                "cli",
                expect=expect,
                issue=issue and f"info-{issue}",
            )
        )
    vecs = vector_files(random.Random(rng.randrange(2**32)), n["vectors"])
    for name, make, expect, issue in vecs:
        cases.append(Case("vectors", name, make, "vectors", expect=expect, issue=issue))
    strip_vector = (*STRIP, "--vector", "{path}", "--steps", "3", *OUT_PNG)
    for name, make, expect, issue in vecs:
        cases.append(
            Case(
                "cli-strip-vector",
                name,
                partial(cli_with_input, make, strip_vector),
                "cli",
                expect=expect,
                issue=issue and f"strip-{issue}",
                outputs=FIG_OUTPUTS,
                timeout=10.0,
            )
        )
    for name, make, expect, issue in session_files(random.Random(rng.randrange(2**32)), n["session"]):
        cases.append(Case("session", name, make, "session", expect=expect, issue=issue))
    for kind, name, argv, kw in cli_option_cases():
        files = kw.pop("files", ())
        kw.setdefault("timeout", 10.0)
        cases.append(Case(kind, name, partial(cli_argv, argv, files=files), "cli", **kw))
    cases += file_cases()
    cases += selection_cases()
    cases += formats().issue_12_cases(random.Random(rng.randrange(2**32)), n)
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)), f"case ids must be unique: {sorted(i for i in set(ids) if ids.count(i) > 1)}"
    return cases


def formats():
    """formats.py (issue 12's model files and datasets), loaded beside this file once; it reaches
    Case, Input and the helpers here through its `G`."""
    name = "vae_explorer_fuzz_formats"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name("formats.py"))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        module.G = sys.modules[__name__]
    return sys.modules[name]


def default_total() -> int | None:
    value = os.environ.get(ENV_CASES)
    return int(value) if value else None
