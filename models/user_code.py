"""A user's Python file: which classes it offers (read without running it) and importing it
under a private module name once the user trusted it.

The private name (`_vae_explorer_user_<hash>`) means a user's `models.py` or `explorer.py` can
never replace a module of ours in sys.modules; the file's folder is first on sys.path while it
runs, so its own `from layers import Encoder` finds its neighbours.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
import traceback
from pathlib import Path
from types import ModuleType

from explorer_models.atomic import printable, problem
from explorer_models.errors import ModelSpecError

MAX_SOURCE_BYTES = 10_000_000


def read_source(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise ModelSpecError(f"{printable(path)}: not a file (a model class is FILE.py:ClassName)")
        if path.stat().st_size > MAX_SOURCE_BYTES:
            raise ModelSpecError(f"{printable(path)}: over {MAX_SOURCE_BYTES:,} bytes, too large for a Python file")
        return path.read_bytes()
    except OSError as e:
        raise ModelSpecError(f"{printable(path)}: cannot be read ({problem(e)})") from e


def candidate_classes(path: Path) -> list[str]:
    """The top-level classes in `path` that define both `encode` and `decode`, found by parsing
    the file, never running it (safe before the user trusts it). Raises ModelSpecError for a
    file that is not Python."""
    source = read_source(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None)
        raise ModelSpecError(
            f"{printable(path)}: not valid Python{f' (line {line})' if line else ''}: {getattr(e, 'msg', e)}"
        ) from None
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            methods = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
            if {"encode", "decode"} <= methods:
                found.append(node.name)
    return found


def import_user_file(path: Path) -> ModuleType:
    """Run `path` as a module under a private name and return it (the caller checked trust)."""
    source = read_source(path)
    name = "_vae_explorer_user_" + hashlib.sha256(str(path.resolve()).encode() + source).hexdigest()[:16]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelSpecError(f"{printable(path)}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as e:  # its code may raise anything, SystemExit included
        del sys.modules[name]
        if isinstance(e, KeyboardInterrupt):
            raise
        where = _user_line(traceback.extract_tb(e.__traceback__), path)
        raise ModelSpecError(f"{printable(path)}: importing it failed{where}: {type(e).__name__}: {e}") from e
    finally:
        try:
            sys.path.remove(folder)
        except ValueError:
            pass
    return module


def _user_line(frames, path: Path) -> str:
    """' (line N)' of the deepest frame inside the user's file, if any."""
    lines = [f.lineno for f in frames if Path(f.filename).resolve() == path.resolve()]
    return f" (line {lines[-1]})" if lines else ""


def user_class(module: ModuleType, path: Path, class_name: str):
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        offered = candidate_classes(path)
        hint = f"classes with encode and decode: {', '.join(offered)}" if offered else "none has encode and decode"
        raise ModelSpecError(f"{printable(path)}: no class {class_name!r} ({hint})")
    return cls
