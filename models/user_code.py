"""A user's Python file: which classes it offers (read without running it) and importing it
under a private module name once the user trusted it.

The private name (`_vae_explorer_user_<hash>`) means a user's `models.py` or `explorer.py` can
never replace a module of ours in sys.modules; the file's folder is first on sys.path while it
runs, so its own `from layers import Encoder` finds its neighbours.
"""

from __future__ import annotations

import ast
import hashlib
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import ModuleType

from explorer_models.atomic import printable, problem
from explorer_models.errors import ModelSpecError

MAX_SOURCE_BYTES = 10_000_000
PRIVATE_PREFIX = "_vae_explorer_user_"


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
    """The top-level classes in `path` that have both `encode` and `decode` (their own, or from a
    class of the same file they derive from); when none has, every class deriving from another
    (its methods may come from another file). Found by parsing the file, never running it (safe
    before the user trusts it). Raises ModelSpecError for a file that is not Python."""
    source = read_source(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except (SyntaxError, ValueError) as e:
        line = getattr(e, "lineno", None)
        raise ModelSpecError(
            f"{printable(path)}: not valid Python{f' (line {line})' if line else ''}: {getattr(e, 'msg', e)}"
        ) from None
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}

    def methods(name: str, seen: frozenset = frozenset()) -> set[str]:
        """A class's methods with those it inherits from classes of the same file."""
        node = classes[name]
        own = {n.name for n in node.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        for base in node.bases:
            if isinstance(base, ast.Name) and base.id in classes and base.id not in seen:
                own |= methods(base.id, seen | {name})
        return own

    found = [name for name in classes if {"encode", "decode"} <= methods(name)]
    # none here: encode and decode may come from a base class of another file; offer every class
    return found or [name for name, node in classes.items() if node.bases]


@contextmanager
def running_from(path: Path) -> Iterator[None]:
    """While a user's file is imported, built and first run: its folder first on sys.path (so
    `from layers import Encoder` finds its neighbour), and afterwards none of the modules it
    imported from that folder left in sys.modules (another project's `layers` must not find
    this one's). Objects keep the modules they were built from."""
    folder = path.resolve().parent
    before = set(sys.modules)
    sys.path.insert(0, str(folder))
    try:
        yield
    finally:
        with suppress(ValueError):
            sys.path.remove(str(folder))
        for name in set(sys.modules) - before:
            file = getattr(sys.modules.get(name), "__file__", None)
            if file and Path(file).resolve().is_relative_to(folder) and not name.startswith(PRIVATE_PREFIX):
                del sys.modules[name]


def import_user_file(path: Path, source: bytes) -> ModuleType:
    """Run `source` (the bytes of `path` the user trusted, read once: a file changed since is
    not what runs) as a module under a private name; call inside running_from(path)."""
    name = PRIVATE_PREFIX + hashlib.sha256(str(path.resolve()).encode() + source).hexdigest()[:16]
    module = ModuleType(name)
    module.__file__ = str(path)
    sys.modules[name] = module  # during its run, as for any import (dataclasses look it up)
    try:
        exec(compile(source, str(path), "exec"), module.__dict__)  # the user trusted these bytes
    except BaseException as e:  # its code may raise anything, SystemExit included
        del sys.modules[name]
        if isinstance(e, KeyboardInterrupt):
            raise
        where = _user_line(traceback.extract_tb(e.__traceback__), path)
        raise ModelSpecError(f"{printable(path)}: importing it failed{where}: {type(e).__name__}: {e}") from None
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
