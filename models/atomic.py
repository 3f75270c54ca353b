"""Write files so that a crash or a full disk never leaves a half-written file behind, and check
first, in one place, that a file may be written where the user asked."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from explorer_models.errors import UserInputError

# mkstemp creates files readable by their owner only; give ours the permissions a plain
# open() would (the process umask is read once, at import, when nothing else is running).
_UMASK = os.umask(0)
os.umask(_UMASK)


def _temp_stem(path: Path) -> str:
    """The target's name as its temp files begin: cut short, so that a name near the system's
    limit (255 bytes) still leaves room for the rest of the temp file's name."""
    return path.name[:80]


def _temp_prefix(path: Path, pid: int | str) -> str:
    return f".{_temp_stem(path)}.{pid}."


def sweep_stale_temps(path: Path) -> int:
    """Remove the temp files an earlier write of `path` left when its process was killed (their
    name carries the writer's process id, and no such process runs any more); how many."""
    swept = 0
    try:
        candidates = list(path.parent.glob(f".{glob.escape(_temp_stem(path))}.*.tmp"))
    except OSError:
        return 0
    for tmp in candidates:
        pid = tmp.name[len(_temp_stem(path)) + 2 :].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or process_alive(int(pid)):
            continue
        try:
            tmp.unlink()
            swept += 1
        except OSError:
            pass  # not ours to remove after all (another user's, read-only folder): leave it
    return swept


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists, owned by someone else
        return True
    return True


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Yield a temp file beside `path`; on success it replaces `path` in one rename.

    On any error the temp file is removed and `path` keeps its old content. A process killed
    meanwhile cannot remove it: the next write of `path` sweeps it (sweep_stale_temps).
    """
    path = Path(path)
    sweep_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path, os.getpid()), suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_UMASK)
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    with atomic_write(path, "wb") as f:
        f.write(data)


def check_writable(
    path: str | os.PathLike, force: bool, label: str = "", error: type[UserInputError] = UserInputError
) -> Path:
    """`path`, if a file may be written there: it is no folder, its folder exists, and it is new
    unless `force` (the CLI's --force; the window asks the user first). `label` (e.g. "--out ")
    starts each message; `error` is the UserInputError subclass to raise."""
    path = Path(path).expanduser()
    if "\0" in str(path):  # pathlib answers "no" about such a name; the write would then fail
        raise error(f"{label}{printable(path)}: a file name cannot contain a NUL character")
    try:
        if path.is_dir():
            raise error(f"{label}{path}: is a folder; give the name of a file to write")
        if not path.parent.is_dir():
            raise error(f"{label}{path}: folder {path.parent} does not exist")
        if path.exists() and not force:
            raise error(f"{label}{path}: the file exists; add --force to replace it")
    except (OSError, ValueError) as e:  # a name too long, a NUL character, a folder we may not search
        raise error(f"{label}{printable(path)}: cannot be written there ({problem(e)})") from e
    return path


def problem(e: BaseException) -> str:
    """An OS error's reason in a few words ("File name too long"), else its message."""
    return getattr(e, "strerror", None) or str(e)


def printable(path: str | os.PathLike) -> str:
    """A path as text that prints and saves anywhere (a message, a CSV, a JSON sidecar): bytes
    that are not UTF-8 become U+FFFD, a NUL is written \\0, and at most 2,000 characters."""
    text = os.fsencode(path).replace(b"\0", b"\\0").decode("utf-8", "replace")
    return text if len(text) <= 2000 else text[:1000] + "…" + text[-999:]
