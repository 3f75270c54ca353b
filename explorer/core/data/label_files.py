"""Labels for a folder of images: its class sub-folders (class_labels), and a file inside it,
`labels.csv` (a file-name column and label columns) or CelebA's `list_attr_celeba.txt`
(attributes as -1/1).

A label column becomes a float column of the dataset: numbers as they are, CelebA's -1/1 as
0/1, and a text column as one 0/1 label per value ("hair=black", "hair=blond"), so each can
be split on like any binary label. An image without a row gets NaN (unknown) in every column:
it stays on the map, but such a label makes no attribute vector until every image has a value.
Images without rows and rows without images are counted in warnings; a file named twice, a row
of the wrong length or a file that cannot be read is an error naming the labels file and the row.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np

from explorer.core.data.base import DatasetError

CSV_NAME, CELEBA_NAME = "labels.csv", "list_attr_celeba.txt"
FILE_COLUMNS = ("filename", "file_name", "file", "image", "image_id", "path")
MAX_CATEGORIES = 50  # values a text column may take before it is no label but an identifier


def find_labels_file(folder: Path) -> Path | None:
    for name in (CSV_NAME, CELEBA_NAME):
        if (folder / name).is_file():
            return folder / name
    return None


def is_celeba(path: Path, text: str) -> bool:
    """CelebA's attribute format: by its name, or (a file named with --labels) a .txt whose
    first line is the count of images."""
    first = text.lstrip().split("\n", 1)[0].strip()
    return path.name == CELEBA_NAME or (path.suffix.lower() == ".txt" and first.isdigit())


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], int, bool]:
    """(label names, rows of [file name, values...], the line number of the first row, whether
    it is CelebA's format, whose -1/1 values mean 0/1)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: cannot read the labels ({e})") from e
    if is_celeba(path, text):  # a count line, the attribute names, then "file v1 v2 ..."
        lines = [line.split() for line in text.splitlines() if line.strip()]
        if len(lines) < 2:
            raise DatasetError(f"{path}: not a CelebA attribute file (it needs a count and a names line)")
        count, names, rows = lines[0], lines[1], lines[2:]
        if len(count) != 1 or not count[0].isdigit() or int(count[0]) != len(rows):
            raise DatasetError(
                f"{path}: its first line should be the number of images listed ({len(rows):,}), not {' '.join(count)!r}"
            )
        for number, row in enumerate(rows, start=3):
            if bad := next((v for v in row[1:] if v not in ("-1", "1")), None):
                raise DatasetError(f"{path}: row {number} ({row[0]}) has the value {bad!r}; CelebA's are -1 and 1")
        return names, rows, 3, True
    try:
        rows = [r for r in csv.reader(text.splitlines()) if r]
    except csv.Error as e:  # a field over the csv module's limit, a NUL byte
        raise DatasetError(f"{path}: not a readable CSV file ({e})") from None
    if not rows:
        raise DatasetError(f"{path}: the labels file is empty")
    header = [h.strip() for h in rows[0]]
    file_column = next((i for i, h in enumerate(header) if h.lower() in FILE_COLUMNS), 0)
    order = [file_column] + [i for i in range(len(header)) if i != file_column]
    # a row of another length is kept as it is: read_labels names it
    values = [[r[i].strip() for i in order] if len(r) == len(header) else r for r in rows[1:]]
    return [header[i] for i in order[1:]], values, 2, False


def _columns(names: list[str], values: list[list[str]], celeba: bool) -> tuple[np.ndarray, tuple[str, ...]]:
    """(N, L) float32 labels and their names, with text columns split into one 0/1 per value."""
    columns, out_names = [], []
    for j, name in enumerate(names):
        raw = [row[j] for row in values]
        try:
            numbers = np.array([float(v) if v != "" else np.nan for v in raw], np.float64)
        except ValueError:
            categories = sorted({v for v in raw if v != ""})
            if len(categories) > MAX_CATEGORIES:
                continue  # an identifier or free text, not a label
            for c in categories:
                columns.append(np.array([np.nan if v == "" else float(v == c) for v in raw]))
                out_names.append(f"{name}={c}")
            continue
        if celeba:
            numbers = (numbers + 1) / 2  # -1/1 -> 0/1
        columns.append(numbers)
        out_names.append(name)
    labels = np.stack(columns, 1).astype(np.float32) if columns else np.zeros((len(values), 0), np.float32)
    return labels, tuple(out_names)


def read_labels(path: Path, file_names: list[str]) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Labels for `file_names` (paths relative to the folder) from the labels file at `path`:
    ((N, L) float32, names, warnings)."""
    names, rows, first, celeba = _read_rows(path)
    by_file: dict[str, list[str]] = {}
    for number, row in enumerate(rows, start=first):
        if len(row) != len(names) + 1:
            raise DatasetError(
                f"{path}: row {number} has {len(row) - 1} values for {len(names)} labels ({', '.join(row[:3])}...)"
            )
        if row[0] in by_file:
            raise DatasetError(f"{path}: row {number} names {row[0]!r} again")
        by_file[row[0]] = row[1:]
    # a row names an image by its path in the folder, or (CelebA's rows name files only) by its bare
    # name where only one image of the folder has that name
    bare = Counter(Path(f).name for f in file_names)
    keys = [
        f if f in by_file else Path(f).name if bare[Path(f).name] == 1 and Path(f).name in by_file else None
        for f in file_names
    ]
    wanted = [by_file[k] if k is not None else None for k in keys]
    missing = sum(v is None for v in wanted)
    if missing == len(file_names):
        raise DatasetError(f"{path}: none of its {len(rows):,} rows names an image of the folder")
    blank = [""] * len(names)
    labels, label_names = _columns(names, [v if v is not None else blank for v in wanted], celeba)
    warnings = []
    if missing:
        warnings.append(f"{path.name}: {missing:,} images have no row; their labels are unknown (NaN)")
    if extra := len(by_file) - len({k for k in keys if k is not None}):
        warnings.append(f"{path.name}: {extra:,} rows name no image of the folder")
    return labels, label_names, tuple(warnings)


def class_labels(file_names: list[str]) -> tuple[np.ndarray, tuple[str, ...]]:
    """One 0/1 label per class when every image lies in a sub-folder and there are 2 to
    MAX_CATEGORIES of them ("class=cats", "class=dogs"); else no labels."""
    classes = [Path(f).parts[0] if len(Path(f).parts) > 1 else None for f in file_names]
    names = sorted({c for c in classes if c is not None})
    if None in classes or not 2 <= len(names) <= MAX_CATEGORIES:
        return np.zeros((len(file_names), 0), np.float32), ()
    labels = np.array([[float(c == name) for name in names] for c in classes], np.float32)
    return labels, tuple(f"class={name}" for name in names)
