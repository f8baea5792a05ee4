"""The problems the attachment reader names, and their sentences (parsers.report re-exports
them; the outputs take them from here without importing the readers)."""

from __future__ import annotations

import string
from collections.abc import Mapping

from parsers.model import FIGURE_FORMAT_PROBLEMS as FIGURE_FORMAT_PROBLEMS
from parsers.model import Problem

# Every problem code the attachment reader emits (sentences: templates/lang/*.toml [problems]).
PROBLEM_CODES = (
    "file_unreadable",
    "unsupported_format",
    "html_disguised",
    "encrypted_file",
    "empty_file",
    "unsafe_file",
    "no_table_found",
    "not_a_number",
    "formula_no_value",
    "fractional_count",
    "negative_value",
    "check_failed",
    "duplicate_indicator",
    "over_limit",
    "uncertain_figure",
)


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def render_problem(problem: Problem, sentences: Mapping[str, str]) -> str:
    """The sentence for `problem` in the language of `sentences` ([problems] of templates/lang/<lang>.toml).

    A parameter whose value has its own entry `<param>_<value>` (e.g. limit_rows,
    format_pdf) is shown translated. Missing parameters render empty; never raises.
    """
    try:
        params = _Blank()
        for k, v in (problem.params or {}).items():
            v = "" if v is None else str(v)
            translated = sentences.get(f"{k}_{v}") if v else None
            params[str(k)] = translated if isinstance(translated, str) else v
        template = sentences.get(problem.code)
        if not isinstance(template, str):
            template = sentences.get("unknown_problem")
        if not isinstance(template, str):
            details = ", ".join(f"{k}={v}" for k, v in params.items() if v)
            return f"{problem.code}: {details}" if details else problem.code
        return fill_sentence(template, params)
    except Exception:  # rendering must never take the digest down
        return str(getattr(problem, "code", "problem"))


def fill_sentence(template: str, params: Mapping[str, object]) -> str:
    """`template` with its {fields} filled from `params`; a missing or None field is
    empty, and a malformed template comes back as it is. Never raises."""
    out: list[str] = []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:  # unbalanced braces in a hand-edited sentence
        return template
    for literal, name, _spec, _conv in parsed:
        out.append(literal)
        if name is not None:
            value = params.get(name.strip()) if name.strip().isidentifier() else None
            out.append("" if value is None else str(value))
    return "".join(out)
