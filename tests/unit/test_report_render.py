"""Problem sentences: every code has one in each language, and rendering never fails."""

from __future__ import annotations

import re
import string
import tomllib
from pathlib import Path

import pytest

from parsers.model import Problem
from parsers.report import PROBLEM_CODES, render_problem

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
KNOWN_PARAMS = {
    "file",
    "sheet",
    "cell",
    "text",
    "indicator",
    "measure",
    "detail",
    "format",
    "limit",
    "error",
    "rule",
    "row",
    "column",
    "reason",
    "reports",
}


def sentences(lang: str) -> dict[str, str]:
    return tomllib.loads((TEMPLATES / "lang" / f"{lang}.toml").read_text("utf-8"))["problems"]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_code_has_a_sentence(lang: str) -> None:
    table = sentences(lang)
    missing = [c for c in (*PROBLEM_CODES, "no_attachment", "no_readable_attachment") if c not in table]
    assert missing == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_sentences_use_only_known_parameters(lang: str) -> None:
    for code, sentence in sentences(lang).items():
        names = {n for _, n, _, _ in string.Formatter().parse(sentence) if n}
        assert names <= KNOWN_PARAMS, code


def test_vietnamese_sentences_have_diacritics() -> None:
    for code in PROBLEM_CODES:
        assert re.search(r"[ăâđêôơưáàảãạếềểễệốồổỗộớờởỡợứừửữự]", sentences("vi")[code]), code


def test_not_a_number_sentence() -> None:
    problem = Problem("not_a_number", {"file": "bao-cao.xls", "sheet": "Sheet1", "cell": "D12", "text": "ba trăm"})
    assert (
        render_problem(problem, sentences("vi")) == "Tệp bao-cao.xls, trang Sheet1, ô D12: 'ba trăm' không phải là số"
    )
    assert (
        render_problem(problem, sentences("en"))
        == "File bao-cao.xls, sheet Sheet1, cell D12: 'ba trăm' is not a number"
    )


def test_parameter_values_are_translated_when_the_table_knows_them() -> None:
    problem = Problem("over_limit", {"file": "a.xlsx", "limit": "rows", "detail": "2000"})
    assert "số dòng (tối đa 2000)" in render_problem(problem, sentences("vi"))
    problem = Problem("unsupported_format", {"file": "scan.pdf", "format": "pdf"})
    assert render_problem(problem, sentences("en")).startswith("File scan.pdf (PDF)")


def test_missing_parameters_render_empty() -> None:
    assert render_problem(Problem("not_a_number", {}), {"not_a_number": "ô {cell}: '{text}'"}) == "ô : ''"


@pytest.mark.parametrize("template", ["{", "}", "{0}", "{a.b}", "{x!r:>{y}}", "{cell:%}"])
def test_broken_sentences_never_raise(template: str) -> None:
    assert isinstance(render_problem(Problem("c", {"cell": "A1"}), {"c": template}), str)


def test_unknown_code_falls_back_to_the_code_and_its_parameters() -> None:
    assert render_problem(Problem("weird", {"file": "a"}), {}) == "weird: file=a"
