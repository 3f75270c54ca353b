"""Issue 12: malformed model files and datasets, deterministic at the seed like generators.py,
which loads this file (as `vae_explorer_fuzz_formats`) and lists its cases after its own.

Models go through explorer_models.load_model(ModelSource(...)) (the harness's `model_source`
entry), then encode and decode a few images as the window does:
  model-pt           .pt / .pth / .pkl / ... given as the model: random bytes, torch.save zips
                     truncated or with a bad CRC, legacy torch files cut short, weights alone,
                     pickles that would create a marker file (untrusted: TrustRequired, and the
                     harness checks that the marker never appears)
  model-torchscript  TorchScript archives truncated, corrupted or incomplete, trusted and not
  model-py           a user's .py class (trusted): syntax errors, raising at import, no such class,
                     a constructor raising, encode()/decode() giving wrong shapes, NaN, None, text,
                     a 3-tuple, a dict without known keys; huge parameter counts; bad --model-args
  model-weights      --weights of a small user class: wrong names, shapes, dtypes; damaged files
  model-pythae       pythae folders (when pythae is installed): model_config.json missing or
                     garbled, unknown model, wrong input_dim / latent_dim, model.pt damaged,
                     pickled networks (untrusted: TrustRequired)
Datasets go through explorer.core.data.load_for_model(PATH, (1, 8, 8), latent_dim=2) (the
`for_model` entry), then a few images and the labels are read; some through the CLI
(`vae-explorer strip --data PATH`, kind cli-strip-data):
  data-npy, data-npz random bytes, broken headers, wrong shapes and dtypes, NaN, values out of
                     range, huge declared shapes, many candidate arrays, odd zip members
  data-latents       precomputed latents: mu missing, 1-D, NaN; logvar of the wrong shape; ...
  data-folder        image folders: empty, no images, truncated or bit-flipped PNG / JPEG / GIF /
                     TIFF / BMP / WebP, decompression bombs, PIL's modes. An unreadable image
                     among readable ones is skipped: the case expects the folder accepted and
                     the harness checks that dataset.problems names that file (Input.skipped),
                     and names none of the readable ones (Input.kept)
  data-labels, data-celeba   labels.csv and list_attr_celeba.txt: missing, extra, duplicate
                     rows, rows of the wrong length, other encodings, values other than -1/1
Every file a case writes lies in its own folder; a pickle's marker is `MARKER` there.
"""

from __future__ import annotations

import io
import json
import pickle
import shutil
import struct
import textwrap
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from importlib.util import find_spec
from pathlib import Path
from typing import Any

G: Any = None  # generators.py, which sets this to itself when it loads this file

ISSUE_12_KINDS = (
    "model-pt",
    "model-torchscript",
    "model-py",
    "model-weights",
    "model-pythae",
    "data-npy",
    "data-npz",
    "data-latents",
    "data-folder",
    "data-labels",
    "data-celeba",
    "cli-strip-data",
)
USER_PY, MARKER, PICS = "model.py", "MARKER", "pics"
TORCHSCRIPT_CODE = "/code/__torch__/vae_explorer_fuzz_formats.py"  # the scripted class's code in the archive
PY_SIDE_FILES = ("__pycache__", "__pycache__/*")  # Python's own bytecode cache beside an imported file
MODEL_TIMEOUT, PYTHAE_TIMEOUT, DATA_TIMEOUT = 8.0, 10.0, 8.0


def pythae_installed() -> bool:
    return find_spec("pythae") is not None


# -- the valid model files the cases start from (built once per worker, in its env folder) ---------
def user_state(torch, hidden: int = 4, latent: int = 2) -> dict:
    """The weights of USER_CLASS's M, seeded."""
    g = torch.Generator().manual_seed(0)
    return {
        "enc.weight": torch.randn(hidden, 64, generator=g) * 0.1,
        "enc.bias": torch.zeros(hidden),
        "dec.weight": torch.randn(64, latent, generator=g) * 0.1,
        "dec.bias": torch.zeros(64),
    }


def _torchscript_module(torch, export: bool):
    """A scripted tiny VAE on 1x8x8 images with encode and decode exported, or with forward only."""
    from torch import nn

    class Exported(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(64, 4)
            self.dec = nn.Linear(2, 64)

        def forward(self, x):
            return self.decode(self.encode(x)[0])

        @torch.jit.export
        def encode(self, x):
            h = self.enc(x.flatten(1))
            return h[:, :2], h[:, 2:]

        @torch.jit.export
        def decode(self, z):
            return torch.sigmoid(self.dec(z)).view(-1, 1, 8, 8)

    class ForwardOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(64, 4)

        def forward(self, x):
            return self.enc(x.flatten(1))

    torch.manual_seed(0)
    return torch.jit.script(Exported() if export else ForwardOnly())


def _save_pythae(folder: Path, latent_dim: int = 2) -> None:
    import pythae.models as pm
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = pm.VAE(pm.VAEConfig(input_dim=(1, 8, 8), latent_dim=latent_dim, reconstruction_loss="bce"))
    model.save(str(folder))


def build_model_env(root: Path) -> dict[str, Any]:
    """Env.extra: the valid model files, written once under `root` (torch.save gives each file a
    random serialization id, so a restarted worker reads back the ones its cases came from)."""
    import torch
    from torch import nn

    def once(name: str, write: Callable[[Path], None]) -> bytes:
        path = root / name
        if not path.exists():  # written beside, then renamed: a worker killed meanwhile leaves no half file
            part = root / ".part" / name
            part.parent.mkdir(exist_ok=True)
            write(part)
            part.rename(path)
        return path.read_bytes()

    def save(obj, legacy: bool = False) -> Callable[[Path], None]:
        return lambda p: torch.save(obj, p, _use_new_zipfile_serialization=not legacy)

    torch.manual_seed(0)
    state = user_state(torch)
    extra: dict[str, Any] = {
        "pt_state": once("user-state.pt", save(state)),
        "pt_legacy": once("user-state-legacy.pt", save(state, legacy=True)),
        "pt_module": once("linear-module.pt", save(nn.Linear(2, 2))),
        "ts": once("user-model.ts.pt", lambda p: torch.jit.save(_torchscript_module(torch, True), str(p))),
        "ts_plain": once("forward-only.ts.pt", lambda p: torch.jit.save(_torchscript_module(torch, False), str(p))),
    }
    if pythae_installed():
        folder = root / "pythae-vae"
        if not folder.exists():
            part = root / ".part" / folder.name
            shutil.rmtree(part, ignore_errors=True)
            _save_pythae(part)
            part.rename(folder)
        extra["pythae"] = folder
    return extra


# -- bytes: pickles, zips, NumPy files, images ---------------------------------------------------
class Opens:
    """Unpickled, it creates a file: what any pickle may do, since unpickling calls functions."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def torch_bytes(obj: Any, legacy: bool = False) -> bytes:
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf, _use_new_zipfile_serialization=not legacy)
    return buf.getvalue()


def marker_pickle(how: str, folder: Path) -> bytes:
    """Bytes that create folder/MARKER when unpickled: pickle.dumps at a protocol ("pickle-N"),
    torch.save's zip or legacy format, or inside a state dict of tensors."""
    import torch

    obj = Opens(folder / MARKER)
    if how.startswith("pickle-"):
        return pickle.dumps(obj, protocol=int(how.rsplit("-", 1)[1]))
    if how == "torch-zip":
        return torch_bytes(obj)
    if how == "torch-legacy":
        return torch_bytes(obj, legacy=True)
    if how == "in-state-dict":
        return torch_bytes({**user_state(torch), "extra": obj})
    raise ValueError(how)


# a pickle of a class in a module that is nowhere; one that asks for a terabyte; a list nested 100,000 deep
MISSING_MODULE_PICKLE = b"\x80\x02cno_such_module_vae_fuzz\nThing\nq\x00)\x81q\x01."
MEMORY_BOMB_PICKLE = b"\x80\x02c__builtin__\nbytearray\n\x8a\x06" + (2**40).to_bytes(6, "little") + b"\x85R."
DEEP_LIST_PICKLE = b"\x80\x02" + b"]" * 100_000 + b"a" * 99_999 + b"."


def _zip_entries(data: bytes) -> list[tuple[int, int, str]]:
    """(central directory offset, local header offset, name) of each member."""
    eocd = data.rfind(b"PK\x05\x06")
    count = struct.unpack("<H", data[eocd + 10 : eocd + 12])[0]
    pos = struct.unpack("<I", data[eocd + 16 : eocd + 20])[0]
    out = []
    for _ in range(count):
        n, m, k = struct.unpack("<HHH", data[pos + 28 : pos + 34])
        local = struct.unpack("<I", data[pos + 42 : pos + 46])[0]
        out.append((pos, local, data[pos + 46 : pos + 46 + n].decode("utf-8", "replace")))
        pos += 46 + n + m + k
    return out


def _member(data: bytes, suffix: str) -> tuple[int, int, str]:
    return next(e for e in _zip_entries(data) if e[2].endswith(suffix))


def zip_bad_crc(suffix: str, data: bytes) -> bytes:
    """The member's recorded CRC-32 (in its local header and the central directory) made wrong;
    its bytes are intact."""
    central, local, _ = _member(data, suffix)
    b = bytearray(data)
    for at in (local + 14, central + 16):
        b[at : at + 4] = struct.pack("<I", struct.unpack("<I", b[at : at + 4])[0] ^ 0xFFFFFFFF)
    return bytes(b)


def zip_changed_byte(suffix: str, data: bytes) -> bytes:
    """One byte of the member's stored data changed (its CRC then no longer matches)."""
    _, local, _ = _member(data, suffix)
    n, m = struct.unpack("<HH", data[local + 26 : local + 30])
    size = struct.unpack("<I", data[local + 18 : local + 22])[0] or 1
    b = bytearray(data)
    b[local + 30 + n + m + size // 2] ^= 0x5A
    return bytes(b)


def zip_set_field(suffix: str, field: str, value: int, data: bytes) -> bytes:
    """A header field of the member set in both headers: "flags" (bit 0: encrypted) or "method"."""
    central, local, _ = _member(data, suffix)
    offsets = {"flags": (6, 8), "method": (8, 10)}[field]
    b = bytearray(data)
    for at in (local + offsets[0], central + offsets[1]):
        b[at : at + 2] = struct.pack("<H", value)
    return bytes(b)


def zip_rebuild(edits: tuple[tuple[str, Any], ...], data: bytes) -> bytes:
    """The zip rewritten with the member ending in each suffix replaced (bytes) or removed (None)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    done = set()
    with zipfile.ZipFile(buf, "w") as out:
        for info in src.infolist():
            change = next(((s, v) for s, v in edits if info.filename.endswith(s)), None)
            if change is None:
                out.writestr(info, src.read(info))
                continue
            done.add(change[0])
            if change[1] is not None:
                out.writestr(info, change[1])
    if missing := [s for s, _ in edits if s not in done]:
        raise KeyError(f"no member ends with {missing[0]}")
    return buf.getvalue()


def npy_bytes(a) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=a.dtype.hasobject)
    return buf.getvalue()


def npy_raw(header: str, body: bytes = b"", version: bytes = b"\x01\x00") -> bytes:
    """A .npy file with this header text (padded as NumPy pads it) and body."""
    h = header.encode("latin-1")
    h += b" " * (-(10 + len(h) + 1) % 64) + b"\n"
    return b"\x93NUMPY" + version + struct.pack("<H", len(h)) + h + body


def npz_bytes(members: tuple[tuple[str, Any], ...], compress: bool = False) -> bytes:
    """A zip of members: (name, array) as NAME.npy, or (name, bytes) under that exact name."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, value in members:
            if isinstance(value, bytes):
                z.writestr(name, value)
            else:
                z.writestr(name + ".npy", npy_bytes(value))
    return buf.getvalue()


def _rng(seed: int = 0):
    import numpy as np

    return np.random.default_rng(seed)


def noise(shape: tuple[int, ...], dtype: str = "uint8", seed: int = 0):
    """Random images: integers over their range up to 255, floats in [0, 1)."""
    import numpy as np

    rng = _rng(seed)
    if np.dtype(dtype).kind == "f":
        return rng.random(shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    return rng.integers(0, 256, shape).astype(dtype)


def image_bytes(mode: str = "L", size: tuple[int, int] = (8, 8), fmt: str = "PNG", seed: int = 0, **opts) -> bytes:
    """An image of random pixels in PIL mode `mode`, saved as `fmt`."""
    import numpy as np
    from PIL import Image

    w, h = size
    rng = _rng(seed)
    if mode == "I;16":
        im = Image.fromarray(rng.integers(0, 65536, (h, w)).astype(np.uint16))
    elif mode == "I":
        im = Image.fromarray(rng.integers(0, 2**20, (h, w)).astype(np.int32))
    elif mode == "F":
        im = Image.fromarray(rng.random((h, w)).astype(np.float32))
    else:
        im = Image.fromarray(rng.integers(0, 256, (h, w, 3)).astype(np.uint8), "RGB").convert(mode)
    buf = io.BytesIO()
    im.save(buf, format=fmt, **opts)
    return buf.getvalue()


def animated_gif() -> bytes:
    from PIL import Image

    frames = [Image.open(io.BytesIO(image_bytes("P", (10, 10), "GIF", seed=i))) for i in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    return buf.getvalue()


def jpeg_with_exif(orientation: int | None = None, raw: bytes | None = None) -> bytes:
    from PIL import Image

    im = Image.open(io.BytesIO(image_bytes("RGB", (12, 8), "PNG")))
    exif: Any = raw
    if raw is None:
        exif = Image.Exif()
        exif[0x0112] = orientation
    buf = io.BytesIO()
    im.save(buf, format="JPEG", exif=exif)
    return buf.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_raw(width: int, height: int, idat: bytes | None = None, bit_depth: int = 8, colour: int = 0) -> bytes:
    """A PNG of these IHDR values with this IDAT (none: header only)."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    body = _chunk(b"IHDR", ihdr) + (_chunk(b"IDAT", idat) if idat is not None else b"")
    return b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b"")


def png_zeros(side: int) -> bytes:
    """A real grey PNG of side x side black pixels (small on disk, side**2 bytes decoded)."""
    z = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    parts = [z.compress(row * min(1000, side - i)) for i in range(0, side, 1000)]
    return png_raw(side, side, b"".join(parts) + z.flush())


def png_chunk_damage(which: str) -> bytes:
    """A 16x16 grey PNG with one chunk damaged: "ihdr-crc", "idat-crc", "idat-not-zlib"."""
    raw = zlib.compress(b"".join(b"\x00" + bytes(range(16)) for _ in range(16)))
    if which == "idat-not-zlib":
        return png_raw(16, 16, b"\x12\x34" + raw[2:])
    data = bytearray(png_raw(16, 16, raw))
    at = data.find(b"IHDR" if which == "ihdr-crc" else b"IDAT")
    length = struct.unpack(">I", data[at - 4 : at])[0]
    data[at + 4 + length] ^= 0xFF  # the first byte of its CRC
    return bytes(data)


def bmp_header(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info), 0, 0, 14 + len(info)) + info


def gif_header(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    return b"GIF89a" + screen + b"," + struct.pack("<HHHHB", 0, 0, width, height, 0) + b"\x08\x00;"


def tiff_header(width: int, height: int) -> bytes:
    """A grey TIFF of these dimensions with one strip of one byte."""
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 1, 8),
        (259, 3, 1, 1),
        (262, 3, 1, 1),
        (273, 4, 1, 8 + 2 + 12 * 10 + 4),
        (277, 3, 1, 1),
        (278, 4, 1, height),
        (279, 4, 1, 1),
        (284, 3, 1, 1),
    ]
    ifd = struct.pack("<H", len(entries)) + b"".join(struct.pack("<HHII", *e) for e in entries) + b"\0\0\0\0"
    return b"II*\x00" + struct.pack("<I", 8) + ifd + b"\x00"


def jpeg_dimensions(width: int, height: int) -> bytes:
    """A real 8x8 JPEG whose frame header (SOF0) claims other dimensions."""
    data = bytearray(image_bytes("L", (8, 8), "JPEG"))
    at = data.find(b"\xff\xc0")
    data[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(data)


# -- inputs --------------------------------------------------------------------------------------
def _input(folder: Path, path: Path, **kw) -> Any:
    return G.Input(path=path, marker=folder / MARKER, **kw)


def _model(folder: Path, path: Path, spec: str | Path | None = None, **source) -> Any:
    return _input(folder, path, spec=str(path if spec is None else spec), source=tuple(sorted(source.items())))


def _env(key: str, fn: Callable[[bytes], bytes] | None, env, folder: Path) -> bytes:
    """Bytes from one of env's valid model files, through a G-style transform."""
    data = env.extra[key]
    return fn(data) if fn else data


def env_bytes(key: str, fn: Callable[[bytes], bytes] | None = None) -> Callable:
    return partial(_env, key, fn)


def _const(data: bytes, env, folder: Path) -> bytes:
    return data


def const(data: bytes) -> Callable:
    return partial(_const, data)


def _marker(how: str, env, folder: Path) -> bytes:
    return marker_pickle(how, folder)


def marker(how: str) -> Callable:
    return partial(_marker, how)


def _torch_obj(build: Callable, legacy: bool, env, folder: Path) -> bytes:
    import torch

    return torch_bytes(build(torch), legacy)


def torch_obj(build: Callable, legacy: bool = False) -> Callable:
    """Bytes of torch.save(build(torch))."""
    return partial(_torch_obj, build, legacy)


def model_file(name: str, content: Callable, trusted: bool, env, folder: Path) -> Any:
    path = folder / name
    path.write_bytes(content(env, folder))
    return _model(folder, path, trusted=trusted)


# -- model files: .pt / .pth / pickles ------------------------------------------------------------
def pt_cases(rng) -> list:
    out = []

    def add(name, file, content, trusted, expect="error", error="", issue=""):
        label = f"{name}-{'trusted' if trusted else 'untrusted'}"
        make = partial(model_file, file, content, trusted)
        out.append(
            G.Case(
                "model-pt", label, make, "model_source", expect=expect, error=error, issue=issue, timeout=MODEL_TIMEOUT
            )
        )

    for trusted in (False, True):
        add("empty", "m.pt", const(b""), trusted)
        for size in (1, 16, 100, 4096):
            add(
                f"random-bytes-{size}",
                "m.pt",
                env_bytes("pt_state", partial(G.random_bytes, rng.randrange(2**32), size)),
                trusted,
            )
        add("zip-magic-then-noise", "m.pt", const(b"PK\x03\x04" + bytes(range(256)) * 4), trusted)
        for key, label in (("pt_module", "module"), ("pt_state", "state-dict")):
            for frac in (0.02, 0.3, 0.6, 0.95, 0.999):
                add(
                    f"torch-zip-{label}-truncated-{frac}", "m.pt", env_bytes(key, partial(G.truncate_at, frac)), trusted
                )
        for member in ("data.pkl", "data/0", "version"):
            flat = member.replace("/", "-")
            add(f"torch-zip-bad-crc-{flat}", "m.pt", env_bytes("pt_module", partial(zip_bad_crc, member)), trusted)
            add(
                f"torch-zip-changed-byte-{flat}",
                "m.pt",
                env_bytes("pt_module", partial(zip_changed_byte, member)),
                trusted,
            )
        for cut in (5, 13, 14, 40, 300):
            add(f"legacy-cut-at-{cut}", "m.pth", env_bytes("pt_legacy", partial(G.truncate_to, cut)), trusted)
        for frac in (0.5, 0.9, 0.999):
            add(f"legacy-truncated-{frac}", "m.pth", env_bytes("pt_legacy", partial(G.truncate_at, frac)), trusted)
        add("state-dict-as-model", "m.pt", env_bytes("pt_state"), trusted)
        add("legacy-state-dict-as-model", "m.pth", env_bytes("pt_legacy"), trusted)
        add("list-as-model", "m.pt", torch_obj(lambda torch: [1, 2, 3]), trusted)
        add("tensor-as-model", "m.pt", torch_obj(lambda torch: torch.zeros(3)), trusted)
        add("none-as-model", "m.pt", torch_obj(lambda torch: None), trusted)
        add("deep-list-pickle", "m.pkl", const(DEEP_LIST_PICKLE), trusted)
        add(
            "missing-module-pickle",
            "m.pkl",
            const(MISSING_MODULE_PICKLE),
            trusted,
            error="" if trusted else "TrustRequired",
        )
        add("linear-module", "m.pt", env_bytes("pt_module"), trusted, error="" if trusted else "TrustRequired")
    add("memory-bomb-pickle", "m.pkl", const(MEMORY_BOMB_PICKLE), True)
    # untrusted pickles that would create MARKER: TrustRequired, and the marker never appears
    for protocol in range(6):
        issue = "marker-pickle" if protocol == 4 else ""
        add(
            f"marker-pickle-protocol-{protocol}",
            "m.pkl",
            marker(f"pickle-{protocol}"),
            False,
            error="TrustRequired",
            issue=issue,
        )
    for suffix in (".pt", ".pth", ".ckpt", ".bin", ".pickle", ".zip"):
        add(f"marker-pickle-as{suffix}", "m" + suffix, marker("pickle-4"), False, error="TrustRequired")
    add("marker-torch-zip", "m.pt", marker("torch-zip"), False, error="TrustRequired", issue="marker-torch-zip")
    add(
        "marker-torch-legacy",
        "m.pth",
        marker("torch-legacy"),
        False,
        error="TrustRequired",
        issue="marker-torch-legacy",
    )
    add("marker-in-state-dict", "m.pt", marker("in-state-dict"), False, error="TrustRequired")
    add("marker-torch-zip-as.pkl", "m.pkl", marker("torch-zip"), False, error="TrustRequired")
    return out


# -- TorchScript archives ---------------------------------------------------------------------------
def torchscript_cases() -> list:
    out = []

    def add(name, content, trusted, expect="error", error="", issue=""):
        label = f"{name}-{'trusted' if trusted else 'untrusted'}"
        make = partial(model_file, "m.pt", content, trusted)
        out.append(
            G.Case(
                "model-torchscript",
                label,
                make,
                "model_source",
                expect=expect,
                error=error,
                issue=issue,
                timeout=MODEL_TIMEOUT,
            )
        )

    add("valid", env_bytes("ts"), False, error="TrustRequired", issue="torchscript-untrusted")
    add("forward-only", env_bytes("ts_plain"), False, error="TrustRequired")
    add("forward-only", env_bytes("ts_plain"), True)
    for trusted in (False, True):
        for frac in (0.01, 0.2, 0.5, 0.8, 0.99, 0.9995):
            add(f"truncated-{frac}", env_bytes("ts", partial(G.truncate_at, frac)), trusted)
        add("bad-crc-data.pkl", env_bytes("ts", partial(zip_bad_crc, "/data.pkl")), trusted)
    code = TORCHSCRIPT_CODE
    for member in ("/data.pkl", "/constants.pkl", "/version", code, "/data/0"):
        flat = member.strip("/").replace("/", "-")
        if member != "/data.pkl":  # that one is above, trusted and not
            add(f"bad-crc-{flat}", env_bytes("ts", partial(zip_bad_crc, member)), True)
        add(f"changed-byte-{flat}", env_bytes("ts", partial(zip_changed_byte, member)), True)
    for name, edits in [
        ("code-syntax-error", ((code, b"def (:\n"),)),
        ("code-empty", ((code, b""),)),
        ("code-not-utf8", ((code, b"\xff\xfe\x00garbage"),)),
        ("code-missing", ((code, None),)),
        ("data-pkl-missing", (("/data.pkl", None),)),
        ("data-pkl-garbage", (("/data.pkl", bytes(range(256))),)),
        ("data-pkl-deep-list", (("/data.pkl", DEEP_LIST_PICKLE),)),
        ("constants-missing", (("/constants.pkl", None),)),
        ("version-999", (("/version", b"999\n"),)),
        ("version-text", (("/version", b"x"),)),
        ("storage-missing", (("/data/0", None),)),
        ("storage-short", (("/data/0", b"\x00\x01\x02"),)),
        ("byteorder-unknown", (("/byteorder", b"middle"),)),
    ]:
        # torch.jit.load takes a storage record shorter than its tensor (the rest left
        # uninitialised) and an unknown byte order: the archive's integrity is torch's to check
        expect = "either" if name in ("storage-short", "byteorder-unknown") else "error"
        add(name, env_bytes("ts", partial(zip_rebuild, edits)), True, expect=expect)
    add("data-pkl-marker", partial(_ts_marker, "pickle-2"), True)
    add("data-pkl-marker-untrusted-code", partial(_ts_marker, "torch-zip-pkl"), False, error="TrustRequired")
    add("only-code-folder", const(npz_bytes((("archive/code/__torch__.py", b"x = 1\n"),))), True)
    return out


def _ts_marker(how: str, env, folder: Path) -> bytes:
    """The TorchScript archive with its data.pkl a pickle that would create MARKER."""
    payload = marker_pickle("pickle-2" if how == "torch-zip-pkl" else how, folder)
    return zip_rebuild((("/data.pkl", payload),), env.extra["ts"])


def model_bytes_cases(rng, n: int) -> list:
    """Random bit flips in the valid torch.save zips, the legacy file and the TorchScript archive
    (trusted and not): each answers with a clean error (a TorchScript archive may still load)."""
    out = []
    bases = [
        ("pt_module", "model-pt"),
        ("pt_state", "model-pt"),
        ("pt_legacy", "model-pt"),
        ("ts", "model-torchscript"),
    ]
    for i in range(n):
        key, kind = bases[i % len(bases)]
        k = 1 if rng.random() < 0.6 else rng.randint(2, 8)
        pos = tuple(rng.random() for _ in range(k))
        bits = tuple(rng.randrange(8) for _ in range(k))
        trusted = (i // len(bases)) % 2 == 1
        expect = "either" if key == "ts" and trusted else "error"
        name = f"bitflip-{key.replace('_', '-')}-{i}-x{k}-{'trusted' if trusted else 'untrusted'}"
        make = partial(model_file, "m.pth", env_bytes(key, partial(G.flip_bits, pos, bits)), trusted)
        out.append(G.Case(kind, name, make, "model_source", expect=expect, timeout=MODEL_TIMEOUT))
    return out


# -- a user's .py class ---------------------------------------------------------------------------
USER_CLASS = """\
import math

import torch
from torch import nn
#TOP


class M(nn.Module):
    def __init__(self, hidden=4):
        super().__init__()
        self.enc = nn.Linear(64, hidden)
        self.dec = nn.Linear(2, 64)
#INIT

    def encode(self, x):
        h = self.enc(x.flatten(1))
#ENCODE

    def decode(self, z):
#DECODE
"""
USER_BODY = {
    "top": "",
    "init": "",
    "encode": "return h[:, :2], h[:, 2:4]",
    "decode": "return torch.sigmoid(self.dec(z)).view(-1, 1, 8, 8)",
}


def user_source(**bodies: str) -> str:
    """USER_CLASS with its bodies replaced: top (module level), init, encode, decode."""
    text = USER_CLASS
    for key, default in USER_BODY.items():
        body = bodies.get(key, default)
        text = text.replace(f"#{key.upper()}\n", textwrap.indent(body, "" if key == "top" else " " * 8) + "\n")
    return text


def _marker_top(folder: Path) -> str:
    return user_source(top=f"open({str(folder / MARKER)!r}, 'w').close()")


def py_model(text: str | bytes | Callable, cls: str, source: tuple, env, folder: Path) -> Any:
    """USER_PY holding `text` (or text(folder)), opened as USER_PY:cls (no class: the file alone)."""
    path = folder / USER_PY
    data = text(folder) if callable(text) else text
    path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8", "surrogatepass"))
    return _model(folder, path, f"{path}:{cls}" if cls else path, **dict(source))


def py_cases() -> list:
    out = []

    def add(name, text, cls="M", expect="error", error="", issue="", names=(), **source):
        source.setdefault("trusted", True)
        make = partial(py_model, text, cls, tuple(sorted(source.items())))
        out.append(
            G.Case(
                "model-py",
                name,
                make,
                "model_source",
                expect=expect,
                error=error,
                issue=issue,
                names=names,
                side_files=PY_SIDE_FILES,
                timeout=MODEL_TIMEOUT,
            )
        )

    ignore_z = "return torch.rand(len(z), 1, 8, 8)"
    # the file itself
    add("syntax-error", user_source(top="def (:"), issue="py-syntax-error")
    add("syntax-bad-indent", user_source(encode="return h\n  return h"))
    add("null-byte", user_source(top="x = 1\x00"))
    add("not-utf8-comment", user_source().encode() + b"\n# \xff\xfe\n", expect="either")  # Python takes it
    add("not-utf8-string", user_source(top="s = 'X'").encode().replace(b"'X'", b"'\xff\xfe'"))
    add("latin1-declared-utf8", b"# -*- coding: utf-8 -*-\nname = '\xe9'\n" + user_source().encode())
    add("unknown-coding", b"# -*- coding: no-such-codec -*-\n" + user_source().encode())
    add("empty-file", "")
    add("binary-garbage", bytes(range(256)) * 8)
    add("nested-parentheses", user_source(top="x = " + "(" * 300 + ")" * 300))
    add("deep-expression", user_source(top="x = 1" + " + 1" * 200_000))
    add("over-10-mb", user_source(top="# " + "x" * 10_000_001))
    add("no-class-named", user_source(), cls="")
    add("no-class-named-syntax-error", user_source(top="def (:"), cls="")
    # raising at import
    for name, top in [
        ("raises-at-import", "raise ValueError('broken on purpose')"),
        ("imports-a-missing-module", "import no_such_module_vae_fuzz"),
        ("system-exit-at-import", "raise SystemExit(3)"),
        ("sys-exit-0-at-import", "import sys\nsys.exit(0)"),
        ("memory-error-at-import", "raise MemoryError()"),
        ("recursion-at-import", "def f():\n    return f()\nf()"),
        ("base-exception-at-import", "raise BaseException('odd')"),
        ("generator-exit-at-import", "raise GeneratorExit()"),
    ]:
        add(name, user_source(top=top))
    add("marker-at-import-untrusted", _marker_top, error="TrustRequired", trusted=False, issue="py-untrusted")
    add("marker-at-import-untrusted-no-class", _marker_top, cls="", trusted=False)
    # the class
    add("class-missing", user_source(), cls="Nope")
    add("class-is-a-number", user_source(top="N = 5"), cls="N")
    add("class-is-a-function", user_source(top="def F():\n    return 1"), cls="F")
    add(
        "class-not-a-module",
        user_source(top="class P:\n    def encode(self, x): ...\n    def decode(self, z): ..."),
        cls="P",
    )
    add(
        "class-without-encode",
        user_source(top="class D(nn.Module):\n    def decode(self, z):\n        return z"),
        cls="D",
    )
    add("encode-not-callable", user_source(init="self.encode = None"))
    add(
        "no-super-init",
        user_source(top="class S(nn.Module):\n    def __init__(self):\n        self.enc = nn.Linear(2, 2)"),
        cls="S",
    )
    add("constructor-raises", user_source(init="raise ValueError('no')"), issue="py-constructor-raises")
    add("constructor-system-exit", user_source(init="raise SystemExit(1)"))
    add("constructor-returns-other-type", user_source(top="class W:\n    def __new__(cls):\n        return 5"), cls="W")
    # parameter counts
    add(
        "huge-linear-10^10-weights",
        user_source(init="self.big = nn.Linear(100_000, 100_000)"),
        issue="py-huge-parameters",
    )
    add("weights-over-the-limit", user_source(init="self.big = nn.Parameter(torch.empty(510_000_000))"))
    add("model-args-huge-hidden", user_source(), model_args='{"hidden": 1000000000000}', names=("--model-args",))
    # --model-args
    for name, text in [
        ("not-json", "{"),
        ("list", "[1, 2]"),
        ("null", "null"),
        ("number", "5"),
        ("string", '"x"'),
        ("single-quotes", "{'hidden': 4}"),
        ("deep", "[" * 100_000 + "]" * 100_000),
        ("nan", "NaN"),
        ("hidden-nan", '{"hidden": NaN}'),
        ("hidden-negative", '{"hidden": -1}'),
        ("hidden-float", '{"hidden": 1.5}'),
        ("hidden-string", '{"hidden": "4"}'),
        ("unknown-argument", '{"nope": 1}'),
        ("lone-surrogate", '{"hidden": "\\udcff"}'),
    ]:
        add(f"model-args-{name}", user_source(), model_args=text, names=("--model-args",))
    # encode()
    for name, body, issue in [
        ("mismatched-shapes", "return h[:, :1], h[:, :3]", ""),
        ("1d", "return h[0], h[0]", ""),
        ("3d", "return h[None], h[None]", ""),
        ("nan", "return h * math.nan, h", "py-encode-nan"),
        ("inf-logvar", "return h, h * math.inf", ""),
        ("none", "return None", "py-encode-none"),
        ("string", "return 'mu'", ""),
        ("3-tuple", "return h[:, :2], h[:, 2:], h", "py-encode-3-tuple"),
        ("odd-width-tensor", "return h[:, :3]", ""),
        ("0d-tensor", "return h.sum()", ""),
        ("dict-unknown-keys", "return {'a': h, 'b': h}", ""),
        ("dict-scale-not-a-tensor", "return {'mu': h[:, :2], 'logvar': 'x'}", ""),
        ("pair-of-numbers", "return 1, 2", ""),
        ("generator", "return (t for t in (h, h))", ""),
        ("bernoulli", "return torch.distributions.Bernoulli(logits=h)", ""),
        ("normal-1d", "return torch.distributions.Normal(h[0], 1.0)", ""),
        ("negative-sigma", "return {'mu': h[:, :2], 'sigma': -torch.ones(len(x), 2)}", ""),
        ("batch-of-one", "return h[:1, :2], h[:1, 2:]", ""),
        ("raises", "raise RuntimeError('encode is broken')", ""),
        ("system-exit", "raise SystemExit(2)", ""),
    ]:
        add(f"encode-{name}", user_source(encode=body), issue=issue)
    add("encode-latent-size-0", user_source(encode="return h[:, :0], h[:, :0]", decode=ignore_z))
    add(
        "encode-latent-size-100000",
        user_source(encode="return torch.zeros(len(x), 100_000), torch.zeros(len(x), 100_000)", decode=ignore_z),
    )
    add("encode-int-tensors", user_source(encode="return h.long(), h.long()"), expect="either")
    add("encode-complex", user_source(encode="c = h.to(torch.complex64)\nreturn c[:, :2], c[:, 2:]"), expect="either")
    add("image-shape-mismatch", user_source(), image_shape=(3, 16, 16))
    # decode()
    for name, body, expect, issue in [
        ("wrong-shape", "return torch.zeros(len(z), 5)", "error", "py-decode-wrong-shape"),
        ("wrong-batch", "return torch.zeros(1, 1, 8, 8)", "error", ""),
        ("nan", "return self.dec(z) * math.nan", "error", "py-decode-nan"),
        ("inf", "return torch.full((len(z), 1, 8, 8), math.inf)", "error", ""),
        ("none", "return None", "error", ""),
        ("string", "return 'image'", "error", ""),
        ("dict-unknown-keys", "return {'image': self.dec(z)}", "error", "py-decode-dict"),
        ("dict-logits-not-a-tensor", "return {'logits': 'x'}", "error", ""),
        ("empty-tuple", "return ()", "error", ""),
        ("list-of-none", "return [None]", "error", ""),
        ("generator", "return iter([self.dec(z)])", "error", ""),
        ("raises", "raise ValueError('decode is broken')", "error", ""),
        ("system-exit", "raise SystemExit(2)", "error", ""),
        ("0d-tensor", "return self.dec(z).sum()", "error", ""),
        ("complex", "return torch.sigmoid(self.dec(z)).to(torch.complex64).view(-1, 1, 8, 8)", "either", ""),
        ("bool", "return (self.dec(z) > 0).view(-1, 1, 8, 8)", "either", ""),
        ("int-0-255", "return (torch.sigmoid(self.dec(z)) * 255).long().view(-1, 1, 8, 8)", "either", ""),
        ("huge-values", "return self.dec(z) * 1e38", "either", ""),
        ("5d", "return torch.sigmoid(self.dec(z)).view(-1, 1, 1, 8, 8)", "either", ""),
    ]:
        add(f"decode-{name}", user_source(decode=body), expect=expect, issue=issue)
    logits = user_source(decode="return self.dec(z) * 10 + 5")
    add("decode-logits-declared-signed", logits, decoder_output="signed")
    add(
        "decode-tanh-declared-probabilities",
        user_source(decode="return torch.tanh(self.dec(z) * 10)"),
        decoder_output="probabilities",
    )
    return out


# -- --weights of a user class -----------------------------------------------------------------------
def _state_edit(torch, how: str) -> dict:
    """user_state changed: names, shapes, dtypes, values."""
    s = user_state(torch)
    if how == "valid":
        return s
    if how == "renamed":
        return {k.replace("enc.", "encoder."): v for k, v in s.items()}
    if how == "reshaped":
        return {**s, "enc.weight": torch.zeros(4, 32)}
    if how == "transposed":
        return {**s, "enc.weight": s["enc.weight"].T.contiguous()}
    if how == "missing":
        return {k: v for k, v in s.items() if k != "dec.bias"}
    if how == "extra":
        return {**s, "extra.weight": torch.zeros(3)}
    if how == "empty":
        return {}
    if how == "scalars":
        return {k: torch.tensor(1.0) for k in s}
    if how == "prefixed-wrong-shape":
        return {f"module.{k}": torch.zeros(3) for k in s}
    if how == "hidden-8":
        return user_state(torch, hidden=8)
    if how == "nan":
        return {k: v * float("nan") for k, v in s.items()}
    if how == "inf":
        return {**s, "enc.bias": torch.full((4,), float("inf"))}
    if how.startswith("dtype-"):
        dtype = getattr(torch, how[6:])
        return {k: (v * 10).to(dtype) for k, v in s.items()}
    if how == "sparse":
        return {**s, "enc.weight": s["enc.weight"].to_sparse()}
    if how == "meta":
        return {k: torch.empty(v.shape, device="meta") for k, v in s.items()}
    if how == "nested-wrong":
        return {"state_dict": {**s, "enc.weight": torch.zeros(1)}}
    if how == "non-contiguous":
        return {**s, "enc.weight": torch.zeros(64, 4).T}
    raise ValueError(how)


def _write_weights(fmt: str, how: str, env, folder: Path, path: Path) -> None:
    import torch

    if fmt == "safetensors":
        import safetensors.torch

        state = {k: v.contiguous() for k, v in _state_edit(torch, how).items()}
        path.write_bytes(safetensors.torch.save(state))
    else:
        torch.save(_state_edit(torch, how), path, _use_new_zipfile_serialization=fmt != "legacy")


def _write_bytes(content: Callable, env, folder: Path, path: Path) -> None:
    path.write_bytes(content(env, folder))


def _write_nothing(kind: str, env, folder: Path, path: Path) -> None:
    if kind == "folder":
        path.mkdir()


def weights_model(file: str, write: Callable, trusted: bool, env, folder: Path) -> Any:
    """USER_PY's valid class M opened with --weights FILE, which `write` writes."""
    py = folder / USER_PY
    py.write_text(user_source())
    weights = folder / file
    write(env, folder, weights)
    return _model(folder, weights, f"{py}:M", weights=str(weights), trusted=trusted)


def _safetensors_bytes(fn: Callable[[bytes], bytes], env, folder: Path) -> bytes:
    import safetensors.torch
    import torch

    return fn(safetensors.torch.save(user_state(torch)))


def weights_cases(rng) -> list:
    out = []

    def add(name, file, write, trusted=True, expect="error", error="", issue=""):
        make = partial(weights_model, file, write, trusted)
        out.append(
            G.Case(
                "model-weights",
                name,
                make,
                "model_source",
                expect=expect,
                error=error,
                issue=issue,
                names=(USER_PY,),  # an encode() that fails on these weights names the class's file
                side_files=PY_SIDE_FILES,
                timeout=MODEL_TIMEOUT,
            )
        )

    for fmt, file in (("safetensors", "w.safetensors"), ("zip", "w.pt"), ("legacy", "w.pth")):
        for how in (
            "renamed",
            "reshaped",
            "transposed",
            "missing",
            "extra",
            "empty",
            "scalars",
            "prefixed-wrong-shape",
            "hidden-8",
            "nan",
            "inf",
        ):
            issue = f"weights-{how}" if fmt == "safetensors" and how in ("renamed", "reshaped") else ""
            add(f"{fmt}-{how}", file, partial(_write_weights, fmt, how), issue=issue)
        for dtype in ("float64", "float16", "bfloat16", "int32", "bool"):
            add(f"{fmt}-dtype-{dtype}", file, partial(_write_weights, fmt, f"dtype-{dtype}"), expect="either")
    for how, expect in (
        ("dtype-complex64", "either"),
        ("sparse", "either"),
        ("meta", "either"),
        ("nested-wrong", "error"),
        ("non-contiguous", "either"),
    ):
        add(f"zip-{how}", "w.pt", partial(_write_weights, "zip", how), expect=expect)
    # damaged files
    add("safetensors-empty-file", "w.safetensors", partial(_write_bytes, const(b"")))
    add("safetensors-random-bytes", "w.safetensors", partial(_write_bytes, const(random_block(rng, 500))))
    for frac in (0.001, 0.05, 0.5, 0.99):
        add(
            f"safetensors-truncated-{frac}",
            "w.safetensors",
            partial(_write_bytes, partial(_safetensors_bytes, partial(G.truncate_at, frac))),
        )
    add(
        "safetensors-header-length-huge",
        "w.safetensors",
        partial(_write_bytes, partial(_safetensors_bytes, partial(G.header_length, 2**62))),
    )
    add("safetensors-shape-huge", "w.safetensors", partial(_write_bytes, partial(_safetensors_bytes, _st_huge_shape)))
    add("vae-explorer-checkpoint-as-weights", "w.safetensors", partial(_write_bytes, _env_checkpoint))
    for frac in (0.1, 0.6, 0.95):
        add(f"pt-truncated-{frac}", "w.pt", partial(_write_bytes, env_bytes("pt_state", partial(G.truncate_at, frac))))
    add("pt-random-bytes", "w.pt", partial(_write_bytes, const(random_block(rng, 700))))
    add("pt-legacy-cut-at-40", "w.pth", partial(_write_bytes, env_bytes("pt_legacy", partial(G.truncate_to, 40))))
    add("pt-bad-crc", "w.pt", partial(_write_bytes, env_bytes("pt_state", partial(zip_bad_crc, "/data/0"))))
    add("pt-list", "w.pt", partial(_write_bytes, torch_obj(lambda torch: [1, 2])))
    add("pt-dict-of-ints", "w.pt", partial(_write_bytes, torch_obj(lambda torch: {"enc.weight": 1})))
    add("npz-as-weights", "w.npz", partial(_write_bytes, const(npz_bytes((("a", b"\x93NUMPY"),)))))
    add("weights-missing", "nope.safetensors", partial(_write_nothing, "missing"))
    add("weights-is-a-folder", "w.pt", partial(_write_nothing, "folder"))
    add(
        "marker-pickle-untrusted",
        "w.pt",
        partial(_write_bytes, marker("pickle-4")),
        trusted=False,
        error="TrustRequired",
    )
    add(
        "marker-torch-zip-untrusted",
        "w.pt",
        partial(_write_bytes, marker("torch-zip")),
        trusted=False,
        error="TrustRequired",
    )
    return out


def random_block(rng, size: int) -> bytes:
    return rng.randbytes(size)


def _st_huge_shape(data: bytes) -> bytes:
    header, body = G.st_parse(data)
    header["enc.weight"]["shape"] = [10**12, 10**12]
    return G.st_build(header, body)


def _env_checkpoint(env, folder: Path) -> bytes:
    return env.ckpt_bytes


# -- pythae folders ---------------------------------------------------------------------------------
def _config_edit(key: str, value: Any, env, folder: Path, old: bytes) -> bytes:
    doc = G.edit(json.loads(old), (key,), value)
    return G.dumps(doc).encode()


def config_edit(key: str, value: Any = None, delete: bool = False) -> Callable:
    return partial(_config_edit, key, G._DELETE if delete else value)


def _config_text(text: str | bytes, env, folder: Path, old: bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode()


def _bytes_of(fn: Callable[[bytes], bytes], env, folder: Path, old: bytes) -> bytes:
    return fn(old)


def _pythae_state(latent_dim: int, env, folder: Path, old: bytes) -> bytes:
    import pythae.models as pm
    import torch

    with torch.random.fork_rng(devices=[]):
        model = pm.VAE(pm.VAEConfig(input_dim=(1, 8, 8), latent_dim=latent_dim))
    return torch_bytes({"model_state_dict": model.state_dict()})


def _content(content: Callable, env, folder: Path, old: bytes) -> bytes:
    return content(env, folder)


def pythae_model(edits: tuple, trusted: bool, env, folder: Path) -> Any:
    """A copy of the valid pythae folder with `edits`: (file name, change) with change None (the
    file removed), "dir" (a folder in its place) or a function (env, folder, old bytes) -> bytes."""
    target = folder / "vae"
    shutil.copytree(env.extra["pythae"], target)
    for name, change in edits:
        path = target / name
        old = path.read_bytes() if path.is_file() else b""
        if change is None or change == "dir":
            path.unlink(missing_ok=True)
            if change == "dir":
                path.mkdir()
        else:
            path.write_bytes(change(env, folder, old))
    return _model(folder, target, trusted=trusted)


def _nested_pythae(env, folder: Path) -> Any:
    """A trainer's output folder: the model folder two levels down."""
    target = folder / "run"
    shutil.copytree(env.extra["pythae"], target / "VAE_training_2026" / "final_model")
    return _model(folder, target)


def _empty_folder(env, folder: Path) -> Any:
    target = folder / "vae"
    target.mkdir()
    return _model(folder, target)


def pythae_cases(rng) -> list:
    if not pythae_installed():
        return []
    out = []
    cfg = "model_config.json"
    custom = (cfg, config_edit("uses_default_encoder", False))

    def add(name, edits, trusted=False, expect="error", error="", issue="", make=None):
        out.append(
            G.Case(
                "model-pythae",
                name,
                make or partial(pythae_model, edits, trusted),
                "model_source",
                expect=expect,
                error=error,
                issue=issue,
                timeout=PYTHAE_TIMEOUT,
            )
        )

    add("environment-json-garbage", (("environment.json", partial(_config_text, b"{not json")),), expect="accept")
    add("config-missing", ((cfg, None),), issue="pythae-config-missing")
    add("config-is-a-folder", ((cfg, "dir"),))
    add("empty-folder", (), make=_empty_folder)
    add("trainer-output-folder", (), make=_nested_pythae)
    for name, text in [
        ("empty", b""),
        ("not-json", b"{name"),
        ("not-utf8", b'{"name": "VAE\xff\xfeConfig"}'),
        ("list", b"[]"),
        ("null", b"null"),
        ("no-name", b'{"input_dim": [1, 8, 8], "latent_dim": 2}'),
        ("name-int", b'{"name": 5}'),
        ("deep", b"[" * 100_000 + b"]" * 100_000),
        ("deep-in-field", b'{"name": "VAEConfig", "input_dim": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        ("over-1-mb", b'{"name": "VAEConfig", "pad": "' + b"x" * 1_100_000 + b'"}'),
        ("nan-literal", b'{"name": "VAEConfig", "input_dim": [1, 8, 8], "latent_dim": NaN}'),
    ]:
        add(
            f"config-{name}",
            ((cfg, partial(_config_text, text)),),
            issue="pythae-config-garbled" if name == "not-json" else "",
        )
    for frac in (0.1, 0.5, 0.9):
        add(f"config-truncated-{frac}", ((cfg, partial(_bytes_of, partial(G.truncate_at, frac))),))
    for label, key, value, expect in [
        ("name-unknown", "name", "FooConfig", "error"),
        ("name-not-a-config", "name", "VAE", "error"),
        ("name-autoencoder", "name", "AEConfig", "error"),
        ("name-vamp", "name", "VAMPConfig", "error"),
        ("name-base", "name", "BaseAEConfig", "error"),
        ("input-dim-null", "input_dim", None, "error"),
        ("input-dim-empty", "input_dim", [], "error"),
        ("input-dim-zero", "input_dim", [0, 8, 8], "error"),
        ("input-dim-negative", "input_dim", [1, -8, 8], "error"),
        ("input-dim-huge", "input_dim", [1, 100_000, 100_000], "error"),
        ("input-dim-four-dims", "input_dim", [1, 1, 8, 8], "error"),
        ("input-dim-string", "input_dim", "1,8,8", "error"),
        ("input-dim-float", "input_dim", [1, 8.5, 8], "error"),
        ("input-dim-other-size", "input_dim", [1, 16, 16], "error"),
        ("input-dim-rgb", "input_dim", [3, 8, 8], "error"),
        ("input-dim-flat-prime", "input_dim", [67], "error"),
        ("input-dim-2^40", "input_dim", [2**40], "error"),
        ("input-dim-nested", "input_dim", [[1], [8], [8]], "error"),
        ("latent-dim-zero", "latent_dim", 0, "error"),
        ("latent-dim-negative", "latent_dim", -1, "error"),
        ("latent-dim-huge", "latent_dim", 10**9, "error"),
        ("latent-dim-float", "latent_dim", 2.5, "error"),
        ("latent-dim-string", "latent_dim", "x", "error"),
        ("latent-dim-3", "latent_dim", 3, "error"),
        ("latent-dim-nan", "latent_dim", float("nan"), "error"),
        ("reconstruction-loss-unknown", "reconstruction_loss", "l1", "error"),
        ("extra-field", "foo", 1, "either"),  # pythae's config ignores it
    ]:
        issue = (
            "pythae-unknown-model"
            if label == "name-unknown"
            else "pythae-input-dim"
            if label == "input-dim-other-size"
            else ""
        )
        add(f"config-{label}", ((cfg, config_edit(key, value)),), expect=expect, issue=issue)
    add("config-no-input-dim", ((cfg, config_edit("input_dim", delete=True)),))
    add("config-no-latent-dim", ((cfg, config_edit("latent_dim", delete=True)),), expect="either")
    # model.pt
    add("weights-missing", (("model.pt", None),))
    add("weights-is-a-folder", (("model.pt", "dir"),))
    add("weights-empty", (("model.pt", partial(_config_text, b"")),))
    for frac in (0.05, 0.5, 0.95, 0.999):
        issue = "pythae-truncated-weights" if frac == 0.5 else ""
        add(f"weights-truncated-{frac}", (("model.pt", partial(_bytes_of, partial(G.truncate_at, frac))),), issue=issue)
    add("weights-bad-crc", (("model.pt", partial(_bytes_of, partial(zip_bad_crc, "/data/0"))),))
    add("weights-random-bytes", (("model.pt", partial(_content, const(random_block(rng, 2000)))),))
    add("weights-latent-3", (("model.pt", partial(_pythae_state, 3)),))
    add(
        "weights-no-model-state-dict",
        (("model.pt", partial(_content, torch_obj(lambda torch: {"x": torch.zeros(2)}))),),
    )
    add(
        "weights-state-dict-of-ints",
        (("model.pt", partial(_content, torch_obj(lambda torch: {"model_state_dict": {"a": 1}}))),),
    )
    add("weights-user-state-dict", (("model.pt", partial(_content, env_bytes("pt_state"))),))
    add(
        "weights-marker-torch-zip",
        (("model.pt", partial(_content, marker("torch-zip"))),),
        issue="pythae-marker-weights",
    )
    add("weights-marker-pickle", (("model.pt", partial(_content, marker("pickle-4"))),))
    add("weights-marker-legacy", (("model.pt", partial(_content, marker("torch-legacy"))),))
    # the user's own networks (encoder.pkl): they run code, so only with trust
    add("custom-encoder-missing", (custom,))
    add("custom-encoder-missing-trusted", (custom,), trusted=True)
    add(
        "custom-encoder-marker",
        (custom, ("encoder.pkl", partial(_content, marker("pickle-4")))),
        error="TrustRequired",
        issue="pythae-marker-encoder",
    )
    add(
        "custom-decoder-marker",
        ((cfg, config_edit("uses_default_decoder", False)), ("decoder.pkl", partial(_content, marker("pickle-2")))),
        error="TrustRequired",
    )
    add(
        "custom-encoder-garbage-trusted",
        (custom, ("encoder.pkl", partial(_content, const(random_block(rng, 300))))),
        trusted=True,
    )
    add(
        "custom-encoder-int-trusted", (custom, ("encoder.pkl", partial(_content, const(pickle.dumps(5))))), trusted=True
    )
    add("custom-encoder-empty-trusted", (custom, ("encoder.pkl", partial(_config_text, b""))), trusted=True)
    add(
        "custom-encoder-missing-module-trusted",
        (custom, ("encoder.pkl", partial(_content, const(MISSING_MODULE_PICKLE)))),
        trusted=True,
    )
    add(
        "custom-encoder-no-environment-trusted",
        (custom, ("encoder.pkl", partial(_content, const(pickle.dumps(5)))), ("environment.json", None)),
        trusted=True,
    )
    return out


# -- NumPy files of images ------------------------------------------------------------------------
def data_file(name: str, content: Callable, variant: str, env, folder: Path) -> Any:
    """content(folder) -> bytes, written to folder/name and opened as the data."""
    path = folder / name
    path.write_bytes(content(folder))
    return _input(folder, path, variant=variant)


def _array_file(build: Callable, folder: Path) -> bytes:
    import numpy as np

    return npy_bytes(build(np))


def array_file(build: Callable) -> Callable:
    """A .npy of build(np)."""
    return partial(_array_file, build)


def _npz_file(members: tuple, compress: bool, folder: Path) -> bytes:
    import numpy as np

    return npz_bytes(tuple((k, v(np) if callable(v) else v) for k, v in members), compress)


def npz_file(members: tuple, compress: bool = False) -> Callable:
    """An .npz of (name, build(np) or bytes) members."""
    return partial(_npz_file, members, compress)


def _raw(data: bytes, folder: Path) -> bytes:
    return data


def raw(data: bytes) -> Callable:
    return partial(_raw, data)


def _then(content: Callable, fn: Callable[[bytes], bytes], folder: Path) -> bytes:
    return fn(content(folder))


def then(content: Callable, fn: Callable[[bytes], bytes]) -> Callable:
    return partial(_then, content, fn)


def _marker_raw(how: str, folder: Path) -> bytes:
    return marker_pickle(how, folder)


def _header_marker(folder: Path) -> bytes:
    """A .npy whose header is Python that would create MARKER if it were evaluated."""
    return npy_raw(f"{{'descr': open({str(folder / MARKER)!r}, 'w'), 'fortran_order': False, 'shape': (1,), }}", b"\0")


def _bomb_member(folder: Path) -> bytes:
    """An .npz whose images member decompresses to 128 MB of zeros (2 images of 8192 x 8192)."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    header = npy_raw("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 8192, 8192), }")
    body = z.compress(header) + b"".join(z.compress(b"\0" * 2**24) for _ in range(8)) + z.flush()
    size = len(header) + 2**27
    crc = zlib.crc32(b"\0" * 2**24, zlib.crc32(header))
    for _ in range(7):
        crc = zlib.crc32(b"\0" * 2**24, crc)
    name = b"images.npy"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(body), size, len(name), 0)
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(body), size, len(name), 0, 0, 0, 0, 0, 0
    )
    entries = local + name + body
    cd = central + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(cd), len(entries), 0)
    return entries + cd + end


def npy_cases(rng) -> list:
    out = []

    def add(name, content, expect="error", variant="", issue="", timeout=DATA_TIMEOUT):
        make = partial(data_file, "data.npy", content, variant)
        out.append(G.Case("data-npy", name, make, "for_model", expect=expect, issue=issue, timeout=timeout))

    img = "{'descr': '|u1', 'fortran_order': False, 'shape': %s, }"
    add("empty-file", raw(b""))
    for size in (1, 10, 64, 1000):
        add(f"random-bytes-{size}", raw(random_block(rng, size)))
    add("magic-only", raw(b"\x93NUMPY"))
    add("magic-version-9", raw(b"\x93NUMPY\x09\x00" + npy_raw(img % "(2, 8, 8)", bytes(128))[8:]))
    add("header-length-past-end", raw(b"\x93NUMPY\x01\x00" + struct.pack("<H", 60_000) + b"{'descr'"))
    add("header-cut", then(array_file(lambda np: noise((4, 8, 8))), partial(G.truncate_to, 20)))
    add("header-not-a-dict", raw(npy_raw("[1, 2]")))
    add(
        "header-unclosed-bracket",
        raw(npy_raw("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 8, 8", bytes(128))),
    )
    add(
        "header-garbage-descr",
        raw(npy_raw("{'descr': 'zz9', 'fortran_order': False, 'shape': (2, 8, 8), }", bytes(128))),
    )
    add("header-missing-shape", raw(npy_raw("{'descr': '|u1', 'fortran_order': False, }", bytes(128))))
    add("header-shape-negative", raw(npy_raw(img % "(-1, 8, 8)", bytes(128))))
    add("header-shape-float", raw(npy_raw(img % "(2.5, 8, 8)", bytes(128))))
    add(
        "header-shape-huge-tiny-file",
        raw(npy_raw(img % "(1000000000, 8, 8)", bytes(128))),
        issue="npy-huge-declared-shape",
    )
    add("header-shape-overflow", raw(npy_raw(img % "(4611686018427387904, 4611686018427387904, 8)", bytes(128))))
    add("header-python-expression", _header_marker)
    add("header-not-latin1-text", raw(b"\x93NUMPY\x01\x00\x10\x00" + b"\xff" * 15 + b"\n"))
    add("data-truncated", then(array_file(lambda np: noise((4, 8, 8))), partial(G.truncate_at, 0.7)))
    # shapes
    for name, build in [
        ("2d-N-H", lambda np: noise((4, 8))),
        ("1d", lambda np: noise((64,))),
        ("0d", lambda np: np.array(5, np.uint8)),
        ("N-5-H-W", lambda np: noise((4, 5, 8, 8))),
        ("N-H-W-2", lambda np: noise((4, 8, 8, 2))),
        ("5d", lambda np: noise((2, 1, 1, 8, 8))),
        ("zero-images", lambda np: noise((0, 8, 8))),
        ("zero-height-uint8", lambda np: noise((4, 0, 8))),
        ("zero-height-float", lambda np: noise((4, 0, 8), "float32")),
        ("zero-channels", lambda np: noise((4, 8, 8, 0))),
    ]:
        add(f"shape-{name}", array_file(build), issue="npy-wrong-shape" if name == "2d-N-H" else "")
    # dtypes and values
    for name, build, expect in [
        ("object", lambda np: np.array([[1, 2], None], dtype=object), "error"),
        ("object-images", lambda np: noise((2, 8, 8)).astype(object), "error"),
        ("complex", lambda np: noise((2, 8, 8), "float32").astype(np.complex64), "error"),
        ("strings", lambda np: np.full((2, 8, 8), "ab"), "error"),
        ("bytes", lambda np: np.full((2, 8, 8), b"ab"), "error"),
        ("datetime", lambda np: np.zeros((2, 8, 8), "datetime64[s]"), "error"),
        ("timedelta", lambda np: np.zeros((2, 8, 8), "timedelta64[s]"), "error"),
        ("structured", lambda np: np.zeros((2, 8, 8), [("a", "f4"), ("b", "u1")]), "error"),
        ("void", lambda np: np.zeros((2, 8, 8), "V4"), "error"),
        ("float-nan", lambda np: np.where(noise((2, 8, 8), "float32") > 0.5, np.nan, 0.5).astype(np.float32), "error"),
        ("float-inf", lambda np: np.full((2, 8, 8), np.inf, np.float32), "error"),
        ("float-0-255", lambda np: noise((2, 8, 8)).astype(np.float32), "error"),
        ("float-huge", lambda np: np.full((2, 8, 8), 1e300), "error"),
        ("int16-out-of-range", lambda np: noise((2, 8, 8)).astype(np.int16) * 3 - 100, "error"),
        ("int8-negative", lambda np: np.full((2, 8, 8), -3, np.int8), "error"),
        ("uint64-huge", lambda np: np.full((2, 8, 8), 2**63, np.uint64), "error"),
        ("uint32-300", lambda np: np.full((2, 8, 8), 300, np.uint32), "error"),
        ("float16", lambda np: noise((2, 8, 8), "float16"), "accept"),
        ("longdouble", lambda np: noise((2, 8, 8), "float64").astype(np.longdouble), "either"),
        ("bool", lambda np: noise((2, 8, 8), "bool"), "accept"),
        ("int64-0-255", lambda np: noise((2, 8, 8), "int64"), "accept"),
        ("uint16", lambda np: _rng().integers(0, 65536, (2, 8, 8)).astype(np.uint16), "accept"),
        ("float-minus-1-1", lambda np: noise((2, 8, 8), "float32") * 2 - 1, "accept"),
        ("fortran-order", lambda np: np.asfortranarray(noise((3, 8, 8))), "accept"),
        ("big-endian", lambda np: noise((3, 8, 8), "float32").astype(">f4"), "accept"),
        ("N-C-H-W-rgb", lambda np: noise((3, 3, 8, 8)), "accept"),
        ("N-H-W-rgba", lambda np: noise((3, 8, 8, 4)), "accept"),
        ("one-huge-image", lambda np: noise((1, 2000, 3000)), "accept"),
    ]:
        issue = {"object": "npy-object", "float-nan": "npy-nan", "complex": "npy-complex"}.get(name, "")
        add(f"dtype-{name}", array_file(build), expect, issue=issue)
    # a NumPy file is read as what its bytes are (an .npz is a zip, an .npy begins \x93NUMPY), whatever its name
    add("npz-named-npy", npz_file((("images", lambda np: noise((2, 8, 8))),)), "accept")
    add("pickle-named-npy", raw(pickle.dumps([1, 2, 3])))
    add("marker-pickle-named-npy", partial(_marker_raw, "pickle-4"))
    return out


def npz_cases(rng) -> list:
    out = []

    def add(name, content, expect="error", issue="", timeout=DATA_TIMEOUT):
        make = partial(data_file, "data.npz", content, "")
        out.append(G.Case("data-npz", name, make, "for_model", expect=expect, issue=issue, timeout=timeout))

    valid = npz_file((("images", lambda np: noise((4, 8, 8))), ("smiling", lambda np: np.array([0, 1, 0, 1]))))
    add("valid-compressed", npz_file((("images", lambda np: noise((4, 8, 8))),), compress=True), "accept")
    add("empty-file", raw(b""))
    add("random-bytes", raw(random_block(rng, 300)))
    for frac in (0.1, 0.5, 0.9, 0.99):
        add(f"truncated-{frac}", then(valid, partial(G.truncate_at, frac)))
    add("bad-crc", then(valid, partial(zip_bad_crc, "images.npy")), issue="npz-bad-crc")
    add("changed-byte", then(valid, partial(zip_changed_byte, "images.npy")))
    add("encrypted-member", then(valid, partial(zip_set_field, "images.npy", "flags", 1)))
    add("unknown-compression", then(valid, partial(zip_set_field, "images.npy", "method", 99)))
    add("bzip2-claimed", then(valid, partial(zip_set_field, "images.npy", "method", 12)))
    add("no-arrays", npz_file(()))
    add(
        "many-candidates",
        npz_file((("a", lambda np: noise((4, 8, 8))), ("b", lambda np: noise((4, 8, 8))))),
        issue="npz-many-candidates",
    )
    add("200-candidates", npz_file(tuple((f"a{i}", lambda np: noise((1, 2, 2))) for i in range(200))))
    add("only-labels", npz_file((("smiling", lambda np: np.array([0, 1])),)))
    add("images-1d", npz_file((("images", lambda np: noise((64,))),)))
    add("images-object", npz_file((("images", lambda np: noise((2, 8, 8)).astype(object)),)))
    add(
        "labels-object",
        npz_file((("images", lambda np: noise((2, 8, 8))), ("l", lambda np: np.array([1, None], object)))),
    )
    add("member-not-npy", npz_file((("images.npy", b"not a numpy file"),)), issue="npz-member-not-npy")
    # np.savez writes only .npy members: another member is no array, and is left alone
    add(
        "text-member-beside-images",
        npz_file((("images", lambda np: noise((2, 8, 8))), ("readme.txt", b"hello"))),
        "accept",
    )
    add(
        "member-truncated",
        npz_file(
            (("images.npy", npy_raw("{'descr': '|u1', 'fortran_order': False, 'shape': (4, 8, 8), }", bytes(20))),)
        ),
    )
    add(
        "member-huge-declared-shape",
        npz_file(
            (
                (
                    "images.npy",
                    npy_raw("{'descr': '|u1', 'fortran_order': False, 'shape': (1099511627776, 8, 8), }", bytes(64)),
                ),
            )
        ),
        issue="npz-huge-declared-shape",
    )
    add(
        "member-4-gb-declared",
        npz_file(
            (
                (
                    "images.npy",
                    npy_raw("{'descr': '|u1', 'fortran_order': False, 'shape': (64, 8192, 8192), }", bytes(64)),
                ),
            ),
            compress=True,
        ),
    )
    add("zip-bomb-128-mb", _bomb_member, "either", timeout=20.0)
    add("npy-named-npz", array_file(lambda np: noise((2, 8, 8))), "accept", issue="npz-is-npy")
    add("pickle-named-npz", raw(pickle.dumps({"images": [1]})))
    add("marker-pickle-named-npz", partial(_marker_raw, "pickle-4"))
    # labels beside the images: what does not fit is left out with a warning
    for name, build in [
        ("wrong-length", lambda np: np.array([0, 1, 0])),
        ("2d", lambda np: np.zeros((4, 2))),
        ("nan", lambda np: np.array([0, np.nan, 1, 0])),
        ("strings", lambda np: np.array(["a", "b", "a", "b"])),
        ("complex", lambda np: np.array([0, 1, 0, 1], np.complex64)),
        ("scalar", lambda np: np.array(3)),
    ]:
        add(f"label-{name}", npz_file((("images", lambda np: noise((4, 8, 8))), ("smiling", build))), "accept")
    add(
        "images-and-mu",
        npz_file((("images", lambda np: noise((4, 8, 8))), ("mu", lambda np: noise((4, 2), "float32")))),
        "accept",
    )
    add(
        "duplicate-member",
        npz_file((("images", lambda np: noise((4, 8, 8))), ("images", lambda np: noise((2, 8, 8))))),
        "either",
    )
    return out


# -- precomputed latents --------------------------------------------------------------------------------
def latents_cases(rng) -> list:
    out = []

    def add(name, members, expect="error", issue="", compress=False, content=None):
        make = partial(data_file, "latents.npz", content or npz_file(members, compress), "")
        out.append(G.Case("data-latents", name, make, "for_model", expect=expect, issue=issue, timeout=DATA_TIMEOUT))

    def mu(np):
        return _rng(1).normal(size=(10, 2)).astype(np.float32)

    def logvar(np):
        return _rng(2).normal(size=(10, 2)).astype(np.float32) - 2

    add("valid", (("mu", mu), ("logvar", logvar), ("smiling", lambda np: np.arange(10) % 2)), "accept")
    add("valid-without-logvar", (("mu", mu),), "accept")
    add("valid-compressed", (("mu", mu), ("logvar", logvar)), "accept", compress=True)
    for name, build, expect in [
        ("1d", lambda np: mu(np)[:, 0], "error"),
        ("3d", lambda np: mu(np)[None], "error"),
        ("0d", lambda np: np.array(1.0, np.float32), "error"),
        ("int", lambda np: np.arange(20).reshape(10, 2), "error"),
        ("bool", lambda np: np.ones((10, 2), bool), "error"),
        ("complex", lambda np: mu(np).astype(np.complex64), "error"),
        ("strings", lambda np: np.full((10, 2), "a"), "error"),
        ("object", lambda np: mu(np).astype(object), "error"),
        ("nan", lambda np: np.where(np.arange(20).reshape(10, 2) == 7, np.nan, mu(np)).astype(np.float32), "error"),
        ("inf", lambda np: np.full((10, 2), -np.inf, np.float32), "error"),
        ("beyond-float32", lambda np: np.full((10, 2), 1e300), "error"),
        ("no-rows", lambda np: np.zeros((0, 2), np.float32), "error"),
        ("no-columns", lambda np: np.zeros((10, 0), np.float32), "error"),
        ("5000-wide", lambda np: np.zeros((3, 5000), np.float32), "error"),
        ("latent-size-3", lambda np: np.zeros((10, 3), np.float32), "error"),
        ("fortran-order", lambda np: np.asfortranarray(mu(np)), "accept"),
        ("float16", lambda np: mu(np).astype(np.float16), "accept"),
        ("big-endian", lambda np: mu(np).astype(">f8"), "accept"),
    ]:
        issue = {"1d": "latents-mu-1d", "nan": "latents-mu-nan"}.get(name, "")
        add(f"mu-{name}", (("mu", build),), expect, issue=issue)
    for name, build, expect in [
        ("wrong-shape", lambda np: np.zeros((10, 3), np.float32), "error"),
        ("transposed", lambda np: np.zeros((2, 10), np.float32), "error"),
        ("1d", lambda np: np.zeros(10, np.float32), "error"),
        ("nan", lambda np: np.full((10, 2), np.nan, np.float32), "error"),
        ("huge", lambda np: np.full((10, 2), 1000.0, np.float32), "error"),
        ("int", lambda np: np.zeros((10, 2), np.int32), "error"),
        ("object", lambda np: np.zeros((10, 2)).astype(object), "error"),
        ("very-negative", lambda np: np.full((10, 2), -1e30, np.float32), "either"),
    ]:
        issue = "latents-logvar-shape" if name == "wrong-shape" else ""
        add(f"logvar-{name}", (("mu", mu), ("logvar", build)), expect, issue=issue)
    add("label-wrong-length", (("mu", mu), ("smiling", lambda np: np.arange(7) % 2)), issue="latents-label-length")
    add("label-nan", (("mu", mu), ("smiling", lambda np: np.where(np.arange(10) == 3, np.nan, 1.0))), "accept")
    add("label-2d", (("mu", mu), ("smiling", lambda np: np.zeros((10, 2)))), "accept")
    add("label-strings", (("mu", mu), ("smiling", lambda np: np.array(["a"] * 10))), "accept")
    add("label-object", (("mu", mu), ("smiling", lambda np: np.array([None] * 10, object))))
    add("mu-missing", (("logvar", logvar),), issue="latents-mu-missing")
    add("mu-and-images", (("mu", mu), ("images", lambda np: noise((10, 8, 8)))), "accept")
    add("mu-not-npy", (("mu.npy", b"not numpy"),))
    add(
        "mu-huge-declared-shape",
        (("mu.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 2), }", bytes(64))),),
    )
    valid = npz_file((("mu", mu), ("logvar", logvar)))
    for frac in (0.3, 0.9):
        add(f"truncated-{frac}", (), content=then(valid, partial(G.truncate_at, frac)))
    add("bad-crc", (), content=then(valid, partial(zip_bad_crc, "mu.npy")))
    add("changed-byte-in-mu", (), content=then(valid, partial(zip_changed_byte, "mu.npy")))
    return out


# -- image folders -----------------------------------------------------------------------------------
GOOD = ("good-0.png", "good-1.png", "good-2.png")


def _good_png(i: int) -> bytes:
    return image_bytes("L", (8, 8), "PNG", seed=100 + i)


def image_folder(files: tuple, base: bool, variant: str, env, folder: Path) -> Any:
    """folder/pics: GOOD (readable 8x8 PNGs) when `base`, and `files`: (name, bytes or a function
    () -> bytes, or "dir", role), role "bad" (must be skipped, named in problems), "good" (must be
    read) or "" (either)."""
    pics = folder / PICS
    pics.mkdir()
    if base:
        for i, name in enumerate(GOOD):
            (pics / name).write_bytes(_good_png(i))
    for name, content, _role in files:
        path = pics / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "dir":
            path.mkdir()
        else:
            path.write_bytes(content() if callable(content) else content)
    skipped = tuple(n for n, _, role in files if role == "bad")
    kept = (GOOD if base else ()) + tuple(n for n, _, role in files if role == "good")
    return _input(folder, pics, variant=variant, skipped=skipped, kept=kept)


def _truncated_image(fmt: str, frac: float) -> bytes:
    data = image_bytes("RGB", (32, 32), fmt)
    return data[: int(frac * len(data))]


def _flipped_image(fmt: str, positions: tuple, bits: tuple) -> bytes:
    return G.flip_bits(positions, bits, image_bytes("RGB", (16, 16), fmt))


IMAGE_FORMATS = {"PNG": "png", "JPEG": "jpg", "GIF": "gif", "BMP": "bmp", "TIFF": "tif", "WEBP": "webp"}


def folder_cases(rng, n_random: int) -> list:
    out = []

    def add(name, files, base=True, expect="accept", variant="", issue="", timeout=DATA_TIMEOUT):
        make = partial(image_folder, tuple(files), base, variant)
        out.append(G.Case("data-folder", name, make, "for_model", expect=expect, issue=issue, timeout=timeout))

    text = b"not an image"
    # nothing to read: an error naming the folder
    add("empty-folder", (), base=False, expect="error", issue="folder-empty")
    add(
        "only-non-images",
        [("a.txt", text, ""), ("b.csv", b"x,y\n", ""), ("c.npy", b"x", "")],
        base=False,
        expect="error",
    )
    add("only-empty-subfolders", [("a/b/c", "dir", ""), ("x.png", "dir", "")], base=False, expect="error")
    add(
        "only-unreadable-images",
        [("a.png", text, ""), ("b.jpg", b"\xff\xd8\xff", ""), ("c.gif", b"", "")],
        base=False,
        expect="error",
        issue="folder-all-bad",
    )
    add(
        "only-truncated-pngs",
        [(f"t{i}.png", partial(_truncated_image, "PNG", 0.3), "") for i in range(3)],
        base=False,
        expect="error",
    )
    add("only-bombs", [("bomb.png", G._png_header_only(100_000, 100_000), "")], base=False, expect="error")
    # unreadable images among readable ones: skipped, each named in the problems
    add("text-as-png", [("bad-text.png", text, "bad")], issue="folder-skips-unreadable")
    add("empty-png", [("bad-empty.png", b"", "bad")])
    add("png-header-only", [("bad-header.png", G._png_header_only(8, 8), "bad")])
    add("png-zero-width", [("bad-zero.png", png_raw(0, 8, zlib.compress(b"\0" * 8)), "bad")])
    add("png-ihdr-crc", [("bad-ihdr.png", png_chunk_damage("ihdr-crc"), "bad")])
    add("png-idat-crc", [("idat-crc.png", png_chunk_damage("idat-crc"), "")])
    add("png-idat-not-zlib", [("bad-idat.png", png_chunk_damage("idat-not-zlib"), "bad")])
    add("png-16-bit-idat-short", [("bad-16.png", png_raw(8, 8, zlib.compress(b"\0" * 20), bit_depth=16), "bad")])
    for fmt, frac in (("PNG", 0.3), ("PNG", 0.7), ("JPEG", 0.3), ("JPEG", 0.7)):
        ext = IMAGE_FORMATS[fmt]
        add(
            f"truncated-{ext}-{frac}",
            [(f"bad-cut.{ext}", partial(_truncated_image, fmt, frac), "bad")],
            issue="folder-truncated-png" if (fmt, frac) == ("PNG", 0.3) else "",
        )
    for fmt, ext in IMAGE_FORMATS.items():
        for frac in (0.1, 0.95):
            add(f"truncated-{ext}-{frac}-either", [(f"cut.{ext}", partial(_truncated_image, fmt, frac), "")])
    # decompression bombs: refused at once by their declared size, skipped and named
    for name, data in [
        ("png-100000x100000", G._png_header_only(100_000, 100_000)),
        ("png-2^31x1", G._png_header_only(2**31 - 1, 1)),
        ("bmp-100000x100000", bmp_header(100_000, 100_000)),
        ("gif-65535x65535", gif_header(65535, 65535)),
        ("tiff-100000x100000", tiff_header(100_000, 100_000)),
        ("jpeg-65500x65500", partial(jpeg_dimensions, 65500, 65500)),
    ]:
        ext = name.split("-")[0].replace("jpeg", "jpg").replace("tiff", "tif")
        add(
            f"bomb-{name}",
            [(f"bad-bomb.{ext}", data, "bad")],
            issue="folder-bomb-png" if name == "png-100000x100000" else "",
            timeout=5.0,
        )
    # under PIL's own limit but over the explorer's (64 million pixels): skipped and named, unread
    add("png-144-megapixels", [("big.png", partial(png_zeros, 12_000), "bad")], timeout=20.0)
    # PIL's modes, odd sizes and formats: each read
    for name, content in [
        ("palette.png", partial(image_bytes, "P")),
        ("palette-transparency.png", partial(image_bytes, "P", transparency=0)),
        ("bilevel.png", partial(image_bytes, "1")),
        ("grey-alpha.png", partial(image_bytes, "LA")),
        ("rgba.png", partial(image_bytes, "RGBA")),
        ("grey-16-bit.png", partial(image_bytes, "I;16")),
        ("int32.tif", partial(image_bytes, "I", fmt="TIFF")),
        ("float.tif", partial(image_bytes, "F", fmt="TIFF")),
        ("cmyk.jpg", partial(image_bytes, "CMYK", fmt="JPEG")),
        ("cmyk.tif", partial(image_bytes, "CMYK", fmt="TIFF")),
        ("ycbcr.jpg", partial(image_bytes, "YCbCr", fmt="JPEG")),
        ("progressive.jpg", partial(image_bytes, "RGB", fmt="JPEG", progressive=True)),
        ("grey.jpg", partial(image_bytes, "L", fmt="JPEG")),
        ("animated.gif", animated_gif),
        ("rgba.webp", partial(image_bytes, "RGBA", fmt="WEBP")),
        ("palette.bmp", partial(image_bytes, "P", fmt="BMP")),
        ("rgba.tif", partial(image_bytes, "RGBA", fmt="TIFF")),
        ("1x1.png", partial(image_bytes, "RGB", (1, 1))),
        ("64x1.png", partial(image_bytes, "L", (64, 1))),
        ("1x64.png", partial(image_bytes, "L", (1, 64))),
        ("640x480.jpg", partial(image_bytes, "RGB", (640, 480), "JPEG")),
        ("exif-rotated.jpg", partial(jpeg_with_exif, 6)),
        ("exif-orientation-99.jpg", partial(jpeg_with_exif, 99)),
        ("upper-case.PNG", partial(image_bytes, "L")),
    ]:
        issue = {
            "palette.png": "folder-mode-palette",
            "grey-16-bit.png": "folder-mode-16-bit",
            "cmyk.jpg": "folder-mode-cmyk",
        }.get(name, "")
        add(f"mode-{name}", [(name, content, "good")], issue=issue)
        if name == "cmyk.tif":  # PIL reads LAB but cannot convert it to grey or RGB: skipped and named
            add("mode-lab.tif", [("lab.tif", partial(image_bytes, "LAB", fmt="TIFF"), "")])
        if name in ("palette.png", "grey-alpha.png", "grey-16-bit.png", "cmyk.jpg", "rgba.webp", "float.tif"):
            add(f"mode-{name}-rgb-model", [(name, content, "good")], variant="rgb")
    add(
        "exif-garbage",
        [
            (
                "exif-garbage.jpg",
                partial(jpeg_with_exif, raw=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff" + bytes(range(64))),
                "",
            )
        ],
    )
    add("exif-empty", [("exif-empty.jpg", partial(jpeg_with_exif, raw=b"Exif\x00\x00"), "")])
    add("folder-named-png", [("dir.png", "dir", "")])
    add(
        "mixed-sizes-and-modes",
        [
            ("p.png", partial(image_bytes, "P", (20, 7)), "good"),
            ("la.png", partial(image_bytes, "LA", (3, 30)), "good"),
            ("c.jpg", partial(image_bytes, "CMYK", (33, 33), "JPEG"), "good"),
            ("s/deep.png", partial(image_bytes, "RGBA", (9, 9)), "good"),
        ],
        variant="rgb",
    )
    # random bit flips in the images (read or skipped: either, never a traceback)
    formats = list(IMAGE_FORMATS)
    for i in range(n_random):
        fmt = formats[i % len(formats)]
        k = 1 if rng.random() < 0.5 else rng.randint(2, 6)
        pos = tuple(rng.random() for _ in range(k))
        bits = tuple(rng.randrange(8) for _ in range(k))
        ext = IMAGE_FORMATS[fmt]
        add(f"bitflip-{ext}-{i}-x{k}", [(f"flipped.{ext}", partial(_flipped_image, fmt, pos, bits), "")])
    return out


# -- labels files ------------------------------------------------------------------------------------
LABELLED = ("0.png", "1.png", "2.png")


def labelled_folder(labels_name: str, content: bytes | str, env, folder: Path) -> Any:
    """folder/pics: LABELLED images and a labels file (bytes, or "dir" for a folder of that name)."""
    pics = folder / PICS
    pics.mkdir()
    for i, name in enumerate(LABELLED):
        (pics / name).write_bytes(_good_png(i))
    if content == "dir":
        (pics / labels_name).mkdir()
    else:
        (pics / labels_name).write_bytes(content)
    return _input(folder, pics, kept=LABELLED)


def _labelled_adder(out: list, kind: str, file_name: str):
    """add(name, content, expect, issue): a case of a folder whose labels file `file_name` holds content."""

    def add(name, content, expect="error", issue=""):
        make = partial(labelled_folder, file_name, content)
        out.append(G.Case(kind, name, make, "for_model", expect=expect, issue=issue, timeout=DATA_TIMEOUT))

    return add


def labels_cases() -> list:
    out = []
    add = _labelled_adder(out, "data-labels", "labels.csv")

    head = b"filename,smiling,hair\n"
    rows = b"0.png,1,black\n1.png,0,blond\n2.png,1,black\n"
    add("valid", head + rows, "accept")
    add("missing-rows", head + b"0.png,1,black\n", "accept")
    add("extra-rows", head + rows + b"9.png,0,red\n", "accept")
    add("duplicate-row", head + rows + b"1.png,1,black\n", issue="labels-duplicate-row")
    add("row-too-short", head + b"0.png,1\n1.png,0,blond\n")
    add("row-too-long", head + b"0.png,1,black,extra\n")
    add("header-only", head)
    add("empty", b"")
    add("blank-lines", b"\n\n  \n")
    add("no-row-names-an-image", head + b"a.png,1,x\nb.png,0,y\n")
    add("not-utf8", head + b"0.png,1,\xe9\xff\n1.png,0,x\n", issue="labels-not-utf8")
    add("utf16", (head + rows).decode().encode("utf-16"))
    add("binary-garbage", bytes(range(256)))
    add("nul-bytes", head + b"0.png,1,bl\x00ack\n1.png,0,x\n", "either")
    add("field-over-128-kb", head + b"0.png,1," + b"x" * 200_000 + b"\n", "either")
    add("unterminated-quote", head + b'0.png,1,"black\n1.png,0,blond\n', "either")
    add("nan-and-inf", b"filename,a\n0.png,nan\n1.png,inf\n2.png,-inf\n", "either")
    add("51-categories", b"filename,id\n" + b"".join(f"{i}.png,v{i}\n".encode() for i in range(60)), "accept")
    add("duplicate-columns", b"filename,a,a\n0.png,1,0\n1.png,0,1\n", "either")
    add("no-file-column", b"a,b\n1,2\n", "error")
    add("labels-csv-is-a-folder", "dir", "accept")
    return out


def celeba_cases() -> list:
    out = []
    add = _labelled_adder(out, "data-celeba", "list_attr_celeba.txt")

    names = b"Smiling Male\n"
    rows = b"0.png -1 1\n1.png 1 -1\n2.png 1 1\n"
    add("valid", b"3\n" + names + rows, "accept")
    add("count-not-a-number", b"many\n" + names + rows, issue="celeba-bad-count")
    add("count-too-large", b"202599\n" + names + rows)
    add("count-missing", names + rows)
    add("row-missing-a-value", b"3\n" + names + b"0.png -1\n1.png 1 -1\n2.png 1 1\n", issue="celeba-wrong-columns")
    add("row-extra-value", b"3\n" + names + b"0.png -1 1 1\n1.png 1 -1\n2.png 1 1\n")
    add("values-0-1", b"3\n" + names + b"0.png 0 1\n1.png 1 0\n2.png 1 1\n", issue="celeba-values")
    add("values-2", b"3\n" + names + b"0.png 2 1\n1.png 1 -1\n2.png 1 1\n")
    add("values-text", b"3\n" + names + b"0.png yes no\n1.png no yes\n2.png yes yes\n")
    add("values-nan", b"3\n" + names + b"0.png nan 1\n1.png 1 -1\n2.png 1 1\n")
    add("only-count", b"3\n")
    add("empty", b"")
    add("not-utf8", b"3\n" + names + b"0.png -1 1\n\xff\xfe.png 1 1\n")
    add("duplicate-file", b"3\n" + names + rows + b"1.png 1 1\n")
    return out


# -- the CLI: vae-explorer strip --data PATH ----------------------------------------------------------------
STRIP_DATA = (
    "strip",
    "--model",
    "{model}",
    "--data",
    "{path}",
    "--device",
    "cpu",
    "--from",
    "0",
    "--to",
    "1",
    "--out",
    "{folder}/out.png",
)


def cli_data(make: Callable, env, folder: Path) -> Any:
    made = make(env, folder)
    subs = {"model": str(env.ckpt_path), "folder": str(folder), "path": str(made.path)}
    return replace(made, argv=tuple(a.format(**subs) for a in STRIP_DATA))


CLI_DATA_CASES = {  # a few of each data family, also through `vae-explorer strip --data`
    "data-npy/random-bytes-64",
    "data-npy/shape-2d-N-H",
    "data-npy/dtype-object",
    "data-npz/many-candidates",
    "data-npz/truncated-0.5",
    "data-latents/mu-latent-size-3",
    "data-latents/mu-nan",
    "data-latents/valid",
    "data-folder/empty-folder",
    "data-folder/only-unreadable-images",
    "data-folder/truncated-png-0.3",
    "data-folder/bomb-png-100000x100000",
    "data-labels/duplicate-row",
    "data-celeba/row-missing-a-value",
}


def cli_data_cases(data_cases: list) -> list:
    out = []
    for c in data_cases:
        if c.id in CLI_DATA_CASES:
            out.append(
                G.Case(
                    "cli-strip-data",
                    c.id.replace("/", "."),
                    partial(cli_data, c.make),
                    "cli",
                    expect=c.expect,
                    names=("--data",),
                    outputs=G.FIG_OUTPUTS,
                    timeout=15.0,
                )
            )
    return out


# -- controls and all of them -------------------------------------------------------------------------
def control_cases() -> list:
    """Valid inputs of each new entry, expected to be accepted (they check the harness)."""
    out = [
        G.Case(
            "control",
            "model-py",
            partial(py_model, user_source(), "M", (("trusted", True),)),
            "model_source",
            expect="accept",
            side_files=PY_SIDE_FILES,
        ),
        G.Case(
            "control",
            "model-py-weights",
            partial(weights_model, "w.safetensors", partial(_write_weights, "safetensors", "valid"), True),
            "model_source",
            expect="accept",
            side_files=PY_SIDE_FILES,
        ),
        G.Case(
            "control",
            "model-py-weights-pt",
            partial(weights_model, "w.pt", partial(_write_bytes, env_bytes("pt_state")), True),
            "model_source",
            expect="accept",
            side_files=PY_SIDE_FILES,
        ),
        G.Case(
            "control",
            "model-torchscript",
            partial(model_file, "m.pt", env_bytes("ts"), True),
            "model_source",
            expect="accept",
        ),
        G.Case(
            "control",
            "data-npy",
            partial(data_file, "d.npy", array_file(lambda np: noise((4, 8, 8))), ""),
            "for_model",
            expect="accept",
        ),
        G.Case("control", "data-folder", partial(image_folder, (), True, ""), "for_model", expect="accept"),
    ]
    if pythae_installed():
        out.append(
            G.Case(
                "control",
                "model-pythae",
                partial(pythae_model, (), False),
                "model_source",
                expect="accept",
                timeout=PYTHAE_TIMEOUT,
            )
        )
    return out


def data_bytes_cases(rng, n: int) -> list:
    """Random bit flips in a valid .npy, .npz of images and .npz of latents: each is read (a flip
    in the pixels, a label, a latent) or refused naming the file."""
    out = []
    bases = [
        ("data-npy", "data.npy", array_file(lambda np: noise((4, 8, 8)))),
        ("data-npz", "data.npz", npz_file((("images", lambda np: noise((4, 8, 8))), ("a", lambda np: np.arange(4))))),
        ("data-latents", "latents.npz", npz_file((("mu", lambda np: noise((6, 2), "float32")),))),
    ]
    for i in range(n):
        kind, file, content = bases[i % len(bases)]
        k = 1 if rng.random() < 0.6 else rng.randint(2, 8)
        pos = tuple(rng.random() for _ in range(k))
        bits = tuple(rng.randrange(8) for _ in range(k))
        make = partial(data_file, file, then(content, partial(G.flip_bits, pos, bits)), "")
        out.append(G.Case(kind, f"bitflip-{i}-x{k}", make, "for_model", expect="either", timeout=DATA_TIMEOUT))
    return out


def issue_12_cases(rng, n_random: dict[str, int]) -> list:
    """Every issue-12 case, in a fixed order (the random ones drawn from `rng`, as many as
    n_random says for model-bytes, image-bytes and data-bytes)."""
    cases = control_cases()
    cases += pt_cases(rng)
    cases += torchscript_cases()
    cases += model_bytes_cases(rng, n_random["model-bytes"])
    cases += py_cases()
    cases += weights_cases(rng)
    cases += pythae_cases(rng)
    data = npy_cases(rng) + npz_cases(rng) + latents_cases(rng) + data_bytes_cases(rng, n_random["data-bytes"])
    data += folder_cases(rng, n_random["image-bytes"]) + labels_cases() + celeba_cases()
    return cases + data + cli_data_cases(data)
