"""Checks for the values our files carry (checkpoint headers, vector and session files), in
one place, before anything uses them.

A spec is a callable `(value, where) -> value` that returns the value checked (and converted
where the file's form differs, e.g. a list to a tuple) or raises SchemaError naming `where`,
e.g. "config.image_shape[1] is 100000, more than 1024". The readers turn that into their own
UserInputError with the file's name in front.

The limits are explicit and documented in docs/reliability.md: generous for real use, small
enough that no value in a file can make the program allocate without bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

Spec = Callable[[Any, str], Any]

MAX_NAME = 500  # characters in a name, a label, a spec or a path kept in a file
MAX_TEXT = 10_000  # characters in a free text field (a recorded command line)
MAX_ITEMS = 100_000  # entries in any list a file holds
MAX_COUNT = 2**53  # a count or an index in a file: exact as a JSON number, fits numpy's int64


class SchemaError(ValueError):
    """A value in a document is not what its field allows; the message names the field."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return {int: "a whole number", float: "a number", str: "text", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def shown(value: Any) -> str:
    """A value as a message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _within(value, lo, hi, where: str):
    """`value` if lo <= value <= hi (either bound may be None); SchemaError naming `where`."""
    if lo is not None and value < lo:
        raise SchemaError(f"{where} is {value:g}, less than {lo:g}")
    if hi is not None and value > hi:
        raise SchemaError(f"{where} is {shown(value) if value > 1e15 else f'{value:g}'}, more than {hi:,g}")
    return value


def integer(lo: int | None = None, hi: int | None = None) -> Spec:
    def check(value, where):
        if isinstance(value, bool) or not isinstance(value, int):
            raise SchemaError(f"{where} is {_kind(value)}, not a whole number")
        return _within(value, lo, hi, where)

    return check


def number(lo: float | None = None, hi: float | None = None, finite: bool = True) -> Spec:
    """A JSON number (an integer is fine), finite unless `finite=False` allows +-inf (never NaN)."""

    def check(value, where):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SchemaError(f"{where} is {_kind(value)}, not a number")
        value = float(value) if isinstance(value, float) or abs(value) < 2**53 else math.inf
        if math.isnan(value) or (finite and math.isinf(value)):
            raise SchemaError(f"{where} is {value}, not a finite number")
        return _within(value, lo, hi, where)

    return check


def text(max_len: int = MAX_NAME, choices: Sequence[str] | None = None) -> Spec:
    def check(value, where):
        if not isinstance(value, str):
            raise SchemaError(f"{where} is {_kind(value)}, not text")
        if len(value) > max_len:
            raise SchemaError(f"{where} is {len(value):,} characters long, more than {max_len:,}")
        if choices is not None and value not in choices:
            raise SchemaError(f"{where} is {shown(value)}, not one of {', '.join(choices)}")
        return value

    return check


def boolean() -> Spec:
    def check(value, where):
        if not isinstance(value, bool):
            raise SchemaError(f"{where} is {_kind(value)}, not true or false")
        return value

    return check


def optional(spec: Spec) -> Spec:
    """`spec`, or null."""
    return lambda value, where: None if value is None else spec(value, where)


def list_of(item: Spec, min_len: int = 0, max_len: int = MAX_ITEMS, as_tuple: bool = False) -> Spec:
    def check(value, where):
        if not isinstance(value, list):
            raise SchemaError(f"{where} is {_kind(value)}, not a list")
        if not min_len <= len(value) <= max_len:
            size = f"exactly {min_len}" if min_len == max_len else f"{min_len} to {max_len:,}"
            raise SchemaError(f"{where} has {len(value):,} entries, not {size}")
        out = [item(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(out) if as_tuple else out

    return check


def obj(fields: dict[str, Spec], required: Sequence[str] = (), extra: bool = True) -> Spec:
    """A JSON object: each known field checked, `required` ones present; unknown fields kept
    (a newer writer may add some) unless `extra` is False."""

    def check(value, where):
        if not isinstance(value, dict):
            raise SchemaError(f"{where} is {_kind(value)}, not an object")
        if missing := [k for k in required if k not in value]:
            raise SchemaError(f"{where} has no {', '.join(missing)}")
        if not extra and (unknown := sorted(set(value) - set(fields))):
            raise SchemaError(f"{where} has unknown entries {', '.join(map(str, unknown[:5]))}")
        out = dict(value)
        for key, spec in fields.items():
            if key in value:
                out[key] = spec(value[key], f"{where}.{key}")
        return out

    return check
