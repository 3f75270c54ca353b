"""Read the project's own JSON files (vectors, sessions): each names its format and version,
and every way of failing to read one is an error that names the file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from models.errors import UserInputError


def read_document(
    path: str | os.PathLike, fmt: str, version: int, what: str, error: type[UserInputError] = UserInputError
) -> dict:
    """The JSON object in `path`, if it is a `what` file (format `fmt`) of this version."""
    path = Path(path).expanduser()
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise error(f"{path}: not a readable {what} file ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != fmt:
        raise error(f"{path}: not a vae-explorer {what} file")
    if doc.get("version") != version:
        raise error(f"{path}: {what} file version {doc.get('version')!r} is not supported")
    return doc
