"""`json.dumps(obj, ensure_ascii=False, indent=1)`, the same text, faster.

With an indent, the standard library leaves its C encoder for the pure-Python one, and
a province's day (2,000 units, 8 MB of JSON) then takes about a second. Here every
container whose items are all plain values is encoded by the C encoder, with the item
separator carrying the newline and the indentation of its depth; only the containers
above them are walked in Python.
"""

from __future__ import annotations

import json
from typing import Any

_string = json.encoder.encode_basestring  # the C function when the C accelerator is there
_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_PLAIN = frozenset({str, int, float, bool, type(None)})  # exact types: a subclass takes the slow path
_encoders: dict[int, Any] = {}


def dumps_indented(obj: Any) -> str:
    """The text of `json.dumps(obj, ensure_ascii=False, indent=1)`."""
    if _make_encoder is None:  # no C accelerator: nothing to gain
        return json.dumps(obj, ensure_ascii=False, indent=1)
    out: list[str] = []
    try:
        _parts(obj, 0, out)
    except _Unusual:
        return json.dumps(obj, ensure_ascii=False, indent=1)
    return "".join(out)


class _Unusual(Exception):
    """A shape this encoder does not reproduce (keys that are not text): left to json.dumps."""


def _leaf_encoder(depth: int) -> Any:
    """The C encoder of json.dumps(ensure_ascii=False), with ",\\n" and `depth` spaces between items."""
    enc = _encoders.get(depth)
    if enc is None:
        std = json.JSONEncoder(ensure_ascii=False)
        enc = _encoders[depth] = _make_encoder(  # type: ignore[misc]
            None, std.default, _string, None, ": ", ",\n" + " " * depth, False, False, True
        )
    return enc


def _scalar(value: Any) -> str:
    if type(value) is str:
        return _string(value)
    return "".join(_leaf_encoder(0)(value, 0))


def _parts(obj: Any, depth: int, out: list[str]) -> None:
    if isinstance(obj, dict):
        if not obj:
            out.append("{}")
            return
        if not all(type(k) is str for k in obj):
            raise _Unusual
        values: Any = obj.values()
        opening, closing = "{", "}"
    elif isinstance(obj, (list, tuple)):
        if not obj:
            out.append("[]")
            return
        values, opening, closing = obj, "[", "]"
    else:
        out.append(_scalar(obj))
        return
    inner = " " * (depth + 1)
    end = "\n" + " " * depth + closing
    if _PLAIN.issuperset(map(type, values)):  # plain values only: the C encoder, newlines as separators
        text = "".join(_leaf_encoder(depth + 1)(obj, 0))
        out.append(opening + "\n" + inner + text[1:-1] + end)
        return
    sep = ",\n" + inner
    out.append(opening + "\n" + inner)
    first = True
    for key, value in obj.items() if opening == "{" else zip(values, values):
        if not first:
            out.append(sep)
        first = False
        if opening == "{":
            out.append(_string(key) + ": ")
        if type(value) in _PLAIN:
            out.append(_scalar(value))
        else:
            _parts(value, depth + 1, out)
    out.append(end)
