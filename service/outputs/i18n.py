"""User-facing sentences from templates/, in the configured language (vi or en)."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Mapping

from parsers.model import Problem
from parsers.report import render_problem

_merged: dict[str, dict] = {}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, params: Mapping[str, object]) -> str:
    """str.format_map that never raises: unknown or missing fields become empty."""
    try:
        return template.format_map(_Blank({k: "" if v is None else v for k, v in params.items()}))
    except (ValueError, IndexError, AttributeError):
        return template


@lru_cache(maxsize=8)
def _load(name: str) -> dict:
    try:
        text = resources.files("templates").joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return tomllib.loads(text)


@dataclass(frozen=True)
class Texts:
    language: str

    def _table(self, section: str) -> dict:
        return _load(f"messages.{self.language}.toml").get(section, {})

    def problem(self, code: str, params: Mapping[str, object]) -> str:
        """The sentence for a problem: file problems (problems.<lang>.toml) and the
        service's own (messages.<lang>.toml [problems]), with translated values."""
        return render_problem(Problem(code, dict(params)), self._sentences())

    def _sentences(self) -> dict:
        key = f"sentences.{self.language}"
        if key not in _merged:
            _merged[key] = {**_load(f"problems.{self.language}.toml"), **self._table("problems")}
        return _merged[key]

    def render(self, problem: Problem) -> str:
        return self.problem(problem.code, problem.params)

    def reason(self, stored_reason: str | None) -> str:
        if not stored_reason:
            return ""
        code, _, detail = stored_reason.partition(":")
        template = self._table("reasons").get(code)
        return fill(template, {"detail": detail}) if template else stored_reason

    def status(self, status: str) -> str:
        return self._table("status").get(status, status)

    def note(self, key: str, params: Mapping[str, object]) -> str:
        """A note beside a unit's status ([notes]), e.g. a correction after the deadline."""
        return fill(self._table("notes").get(key, key), params)

    def excluded(self, unit: str, indicator: str, measure: str, value: str, problem_code: str) -> str:
        """One figure the totals leave out, as a sentence ([excluded] item)."""
        reason = self._table("excluded_reasons").get(problem_code, problem_code)
        return fill(self._table("excluded").get("item", "{unit}: {indicator}, {measure}: {value} ({reason})"),
                    {"unit": unit, "indicator": indicator, "measure": measure, "value": value, "reason": reason})

    def excluded_heading(self) -> str:
        return self._table("excluded").get("heading", "")

    def sentence(self, section: str, key: str, params: Mapping[str, object] | None = None) -> str:
        """A sentence of messages.<lang>.toml [section] (`baocao health`, `check --connect`)."""
        return fill(self._table(section).get(key, key), params or {})
