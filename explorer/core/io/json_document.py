"""Read the project's own JSON files (vectors, sessions): each names its format and version,
and every way of failing to read one is an error that names the file."""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path

from explorer_models import schema as S
from explorer_models.atomic import printable, problem
from explorer_models.errors import UserInputError

MAX_DOCUMENT_BYTES = 256 * 2**20  # a session selecting every one of ten million points fits


def read_document(
    path: str | os.PathLike,
    fmt: str,
    version: int,
    what: str,
    error: type[UserInputError] = UserInputError,
    schema: S.Spec | None = None,
) -> dict:
    """The JSON object in `path`, if it is a `what` file (format `fmt`) of this version and its
    fields pass `schema` (models/schema.py): the one place these files are checked before use."""
    path = Path(path).expanduser()
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):  # a folder, a pipe or a device: reading it may never end
            raise error(f"{path}: not a {what} file (a folder, a pipe or a device)")
        if info.st_size > MAX_DOCUMENT_BYTES:
            raise error(f"{path}: {info.st_size:,} bytes, too large for a {what} file")
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except RecursionError:
        raise error(f"{path}: not a readable {what} file (its JSON is nested too deeply)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"{path}: not a readable {what} file ({e})") from e
    except (OSError, ValueError) as e:  # no permission, a name too long, a NUL character in it
        raise error(f"{printable(path)}: cannot be read ({problem(e)})") from e
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise error(f"{path}: not a vae-explorer {what} file")
    if doc.get("version") != version:
        raise error(f"{path}: {what} file version {S.shown(doc.get('version'))} is not supported")
    if schema is not None:
        try:
            doc = schema(doc, what)
        except S.SchemaError as e:
            raise error(f"{path}: {e}") from e
    return doc


def finite_or_none(x: float) -> float | None:
    """A number as JSON can hold it: NaN and infinities (no figure) become null."""
    return float(x) if math.isfinite(x) else None


def finite_list(values) -> list:
    return [finite_or_none(float(v)) for v in values]
