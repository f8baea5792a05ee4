"""Every text a person reads, from templates/: one catalog per language
(templates/lang/<language>.toml) and one template per output (render.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from parsers.model import Problem
from parsers.problems import fill_sentence, render_problem
from templates import catalog

# Filling a sentence's {fields} is one rule for the readers and the service.
fill = fill_sentence


@lru_cache(maxsize=8)
def problem_sentences(language: str) -> dict[str, str]:
    """Every problem's sentence: the readers' ([problems]) and the service's own ([service_problems])."""
    table = catalog(language)
    return {**table["problems"], **table["service_problems"]}


def labels(language: str) -> dict[str, Any]:
    """The digest, workbook and export labels ([digest] of the catalog)."""
    table: dict[str, Any] = catalog(language)["digest"]
    return table


@dataclass(frozen=True)
class Texts:
    """The catalog's sentences of one language, filled: statuses, reasons, problems, notes."""

    language: str

    def _table(self, section: str) -> dict[str, Any]:
        table: dict[str, Any] = catalog(self.language).get(section, {})
        return table

    def _entry(self, section: str, key: str, default: str) -> str:
        return str(self._table(section).get(key, default))

    def problem(self, code: str, params: Mapping[str, object]) -> str:
        """The sentence for a problem: found in a file ([problems]) or the service's own
        ([service_problems]), with translated values."""
        # Parameter values are shown as given (numbers, dates): str() is render_problem's job.
        problem = Problem(code, dict(params))  # type: ignore[arg-type]
        return render_problem(problem, problem_sentences(self.language))

    def render(self, problem: Problem) -> str:
        return self.problem(problem.code, problem.params)

    def reason(self, stored_reason: str | None) -> str:
        if not stored_reason:
            return ""
        code, _, detail = stored_reason.partition(":")
        template = self._table("reasons").get(code)
        return fill(template, {"detail": detail}) if template else stored_reason

    def status(self, status: str) -> str:
        return self._entry("status", status, status)

    def note(self, key: str, params: Mapping[str, object]) -> str:
        """A note beside a unit's status ([notes]), e.g. a correction after the deadline."""
        return fill(self._entry("notes", key, key), params)

    def excluded(self, unit: str, indicator: str, measure: str, value: str, problem_code: str) -> str:
        """One figure the totals leave out, as a sentence ([excluded] item)."""
        reason = self._entry("excluded_reasons", problem_code, problem_code)
        return fill(
            self._entry("excluded", "item", "{unit}: {indicator}, {measure}: {value} ({reason})"),
            {"unit": unit, "indicator": indicator, "measure": measure, "value": value, "reason": reason},
        )

    def excluded_heading(self) -> str:
        return self._entry("excluded", "heading", "")

    def sentence(self, section: str, key: str, params: Mapping[str, object] | None = None) -> str:
        """A sentence of the catalog's [section] (`baocao health`, `check --connect`, [digest_state])."""
        return fill(self._entry(section, key, key), params or {})
