"""The JSON of `status --json` and `export --format json` is json.dumps(indent=1)'s text."""

from __future__ import annotations

import json

import pytest

from service.outputs.jsontext import dumps_indented


@pytest.mark.parametrize(
    "doc",
    [
        {},
        [],
        "x",
        12,
        None,
        {"a": [], "b": {}, "c": [[]], "d": [{}]},
        {"units": [{"code": "X1", "values": {"i": {"m": 3, "n": 2.5}}, "notes": ['a\n"b" \\ é\u2028\x01']}]},
        [1, [2, [3, {"k": True, "l": False, "m": None}]], (4, 5)],
        {"n": float("nan"), "inf": [float("inf"), -float("inf")], "big": 10**30, "tiny": 1.5e-7},
        {1: "int key", "s": {2.5: "float key", None: "none key"}},
    ],
)
def test_same_text_as_json_dumps(doc: object) -> None:
    assert dumps_indented(doc) == json.dumps(doc, ensure_ascii=False, indent=1)
