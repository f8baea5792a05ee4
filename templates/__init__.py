"""Every text a person reads: one template per output (*.html, *.txt) and one catalog per
language (lang/<language>.toml). Adding a language is adding one catalog file."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

CATALOG_FOLDER = "lang"


def languages() -> list[str]:
    """The languages there is a catalog for (templates/lang/<language>.toml)."""
    folder = resources.files(__name__).joinpath(CATALOG_FOLDER)
    return sorted(p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=8)
def catalog(language: str) -> dict[str, Any]:
    """The whole catalog of `language`: one table per section ([status], [problems], [digest], ...)."""
    try:
        text = resources.files(__name__).joinpath(f"{CATALOG_FOLDER}/{language}.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no catalog templates/{CATALOG_FOLDER}/{language}.toml for language {language!r}") from None
    table: dict[str, Any] = tomllib.loads(text)
    return table
