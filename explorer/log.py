"""Where vae-explorer writes what went wrong: a rotating log file in the user's log folder
(platformdirs; e.g. ~/.local/state/vae-explorer/log/vae-explorer.log on Linux), and stderr
with --verbose. The window shows a user the one-line message; the log keeps the traceback."""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

ENV_VAR = "VAE_EXPLORER_LOG_DIR"  # tests and shared machines point it elsewhere
FORMAT = "%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"
_installed: list[tuple[logging.Logger, logging.Handler]] = []  # so a second call replaces, not doubles


def log_dir() -> Path:
    import platformdirs

    return Path(os.environ.get(ENV_VAR) or platformdirs.user_log_dir("vae-explorer", appauthor=False))


def setup_logging(verbose: bool = False) -> Path | None:
    """Log explorer.* and explorer_models.* to the rotating file (INFO and up; DEBUG with `verbose`) and,
    with `verbose`, to stderr. Returns the log file, or None when its folder cannot be written
    (the app runs on without a file)."""
    for logger, handler in _installed:
        logger.removeHandler(handler)
        handler.close()
    _installed.clear()
    handlers: list[logging.Handler] = []
    path: Path | None = log_dir() / "vae-explorer.log"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=3, encoding="utf-8"))
    except OSError:
        path = None
    if verbose:
        handlers.append(logging.StreamHandler())
    for name in ("explorer", "explorer_models"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if verbose else logging.INFO)
        for handler in handlers:
            handler.setFormatter(logging.Formatter(FORMAT))
            logger.addHandler(handler)
            _installed.append((logger, handler))
    return path
