"""The map's search box: find data points by index or label value.

A query is terms separated by spaces or commas, all of which must hold:
  123            the point with index 123
  10-20          indices 10 to 20
  smiling=1      a label equal to a value (also !=, <, <=, >, >=)
  hat            a binary label that is 1 (same as hat=1)
"""

from __future__ import annotations

import operator
import re

import numpy as np

from explorer_models.errors import UserInputError

_OPS = {
    "=": operator.eq,
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_TERM = re.compile(r"^([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|=|<|>)\s*(-?[\d.]+(?:e-?\d+)?)$")
_RANGE = re.compile(r"^(\d+)\s*-\s*(\d+)$")


class SearchError(UserInputError):
    """A query the search box cannot read; the message says which term and why."""


def _split(query: str) -> list[str]:
    # keep "a > 1" together: join operators with their operands first
    query = re.sub(r"\s*(==|!=|<=|>=|=|<|>)\s*", r"\1", query.strip())
    return [t for t in re.split(r"[\s,]+", query) if t]


def search(query: str, n: int, labels: np.ndarray, label_names: tuple[str, ...]) -> np.ndarray | None:
    """A boolean mask (n,) of the points matching `query`, or None for an empty query."""
    terms = _split(query)
    if not terms:
        return None
    mask = np.ones(n, bool)
    for term in terms:
        mask &= _term_mask(term, n, labels, label_names)
    return mask


def _term_mask(term: str, n: int, labels: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    if term.isdigit():
        i = int(term)
        if i >= n:
            raise SearchError(f"index {i} is out of range: the dataset has {n} points (0..{n - 1})")
        m = np.zeros(n, bool)
        m[i] = True
        return m
    if r := _RANGE.match(term):
        a, b = int(r[1]), int(r[2])
        m = np.zeros(n, bool)
        m[a : b + 1] = True
        return m
    if t := _TERM.match(term):
        name, op, value = t[1], t[2], float(t[3])
    elif re.fullmatch(r"[A-Za-z_][\w.]*", term):
        name, op, value = term, "=", 1.0
    else:
        raise SearchError(f"cannot read {term!r}: use an index (12), a range (10-20) or a label test (smiling=1)")
    if name not in names:
        known = ", ".join(names) or "none: this dataset has no labels"
        raise SearchError(f"no label called {name!r} (labels: {known})")
    return _OPS[op](labels[:, names.index(name)], value)
