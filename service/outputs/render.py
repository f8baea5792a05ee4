"""The mails' templates (templates/digest.html, ack.txt, ...): one per output, its wording
taken from the language's catalog when it is loaded.

A template marks each piece of wording `[% section.key %]`; the piece (Jinja, with the
template's own variables) comes from templates/lang/<language>.toml. So a language is one
catalog file, and every language renders the same template.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.ext import Extension

from service.outputs.i18n import labels
from templates import catalog

# `[% digest_html.title %]`: a piece of the catalog, put in place before Jinja reads the template.
PIECE = re.compile(r"\[%\s*([A-Za-z0-9_.]+)\s*%\]")


def catalog_piece(language: str, key: str, template: str | None = None) -> str:
    """The catalog text at dotted `key` ("digest_html.title"); a clear error when missing."""
    node: Any = catalog(language)
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            where = f" (used by templates/{template})" if template else ""
            raise KeyError(f"templates/lang/{language}.toml has no text {key!r}{where}")
        node = node[part]
    if not isinstance(node, str):
        raise KeyError(f"templates/lang/{language}.toml: {key!r} is not a text")
    return node


class CatalogPieces(Extension):
    """Puts the catalog's pieces in place of the `[% key %]` markers of a template."""

    def __init__(self, environment: jinja2.Environment) -> None:
        super().__init__(environment)
        environment.extend(catalog_language="")

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        language = self.environment.catalog_language  # type: ignore[attr-defined]
        return PIECE.sub(lambda m: catalog_piece(language, m.group(1), name), source)


def pieces_used(source: str) -> list[str]:
    """The catalog keys a template's source uses."""
    return PIECE.findall(source)


@lru_cache(maxsize=8)
def _environment(language: str, html: bool) -> jinja2.Environment:
    # HTML is autoescaped; the plain-text part must keep "<" and "&" as typed.
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("templates", ""),
        autoescape=html,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=[CatalogPieces],
    )
    env.catalog_language = language  # type: ignore[attr-defined]
    return env


def render_template(name: str, model: Mapping[str, Any], language: str) -> str:
    """Render templates/<name> ("digest.html", "ack.txt", "reminder.txt") in `language`,
    with the model `m` and the [digest] labels `t`; autoescaped when .html."""
    env = _environment(language, name.endswith(".html"))
    return env.get_template(name).render(m=model, t=labels(language))
