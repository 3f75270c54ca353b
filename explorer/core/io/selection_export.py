"""Export the points selected on the map (groups A and B): CSV for spreadsheets, NPZ for numpy.

One row per selected point: its group, index, file name (empty for built-in data), labels,
mu and logvar. Floats are written with 9 significant digits, enough to read float32 back
exactly. Files are written atomically.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from explorer.core.figures.export import ExportError
from explorer_models.atomic import check_writable, printable, write_bytes_atomic

SUFFIXES = (".csv", ".npz")


def selected_rows(selection: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(groups, indices) of every selected point, group A first."""
    groups = [np.full(len(idx), g) for g, idx in sorted(selection.items())]
    indices = [np.asarray(idx, int) for _, idx in sorted(selection.items())]
    return (
        np.concatenate(groups) if groups else np.zeros(0, str),
        np.concatenate(indices) if indices else np.zeros(0, int),
    )


def _csv_bytes(groups, indices, names, dataset, mu, logvar) -> bytes:
    d = mu.shape[1]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "group",
            "index",
            "file_name",
            *dataset.label_names,
            *(f"mu_{i}" for i in range(d)),
            *(f"logvar_{i}" for i in range(d)),
        ]
    )
    labels = dataset.labels[indices]
    for row, (g, i, name) in enumerate(zip(groups, indices, names)):
        numbers = np.r_[labels[row], mu[row], logvar[row]]
        writer.writerow([g, int(i), name, *(f"{v:.9g}" for v in numbers)])
    return buf.getvalue().encode("utf-8")


def _npz_bytes(groups, indices, names, dataset, mu, logvar) -> bytes:
    buf = io.BytesIO()
    np.savez(
        buf,
        group=groups.astype(str),
        index=indices.astype(np.int64),
        file_name=np.asarray(names, str),
        labels=dataset.labels[indices].astype(np.float32),
        label_names=np.asarray(dataset.label_names, str),
        mu=mu,
        logvar=logvar,
    )
    return buf.getvalue()


def export_selection(
    path: str | os.PathLike, dataset, encodings, selection: dict[str, np.ndarray], force: bool = False
) -> int:
    """Write the selection to `path` (.csv or .npz); returns the number of rows written."""
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ExportError(f"{path}: unknown type {path.suffix or '(none)'!r}; use .csv or .npz")
    check_writable(path, force, error=ExportError)
    groups, indices = selected_rows(selection)
    if len(indices) == 0:
        raise ExportError(f"{path}: nothing is selected to write; select group A or B on the map first")
    names = [printable(dataset.file_names[i]) if dataset.file_names else "" for i in indices]
    mu = np.asarray(encodings.mu, np.float32)[indices]
    logvar = np.asarray(encodings.logvar, np.float32)[indices]
    make = _csv_bytes if suffix == ".csv" else _npz_bytes
    try:
        write_bytes_atomic(path, make(groups, indices, names, dataset, mu, logvar))
    except OSError as e:
        raise ExportError(f"{path}: could not write ({e.strerror or e})") from e
    return len(indices)
