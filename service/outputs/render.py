"""The mails' templates (templates/digest.html, ack.txt, ...): one per output, its wording
taken from the language's catalog when it is loaded.

A template marks each piece of wording `[% section.key %]`; the piece (Jinja, with the
template's own variables) comes from templates/lang/<language>.toml. So a language is one
catalog file, and every language renders the same template.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from pathlib import Path
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


log = logging.getLogger(__name__)


class TemplateCodeCache(jinja2.BytecodeCache):
    """The templates' compiled code, kept between commands in the command line's cache
    folder (service.config.loading.cache_dir_for): compiling the digest's two templates is
    70 ms of every `baocao digest` (issue 14).

    An entry is found by the template's name, the language and whether it is HTML, and
    checked against what its code was made from: the template's source (Jinja's own
    check), the language's catalog (whose pieces are put in before compiling), this
    module, and the Jinja and Python versions; any change compiles it again. As the
    configuration cache: the folder is made private (0700), an entry is written whole
    (a private temporary file renamed) and one not owned by this user or writable by
    others is ignored. A cache that cannot be read or written never stops a command."""

    def __init__(self, folder: Path, language: str, html: bool) -> None:
        self.folder = folder
        made_from = hashlib.sha256()
        for part in (
            language.encode(),
            b"html" if html else b"text",
            jinja2.__version__.encode(),
            resources.files("templates").joinpath(f"lang/{language}.toml").read_bytes(),
            Path(__file__).read_bytes(),
        ):
            made_from.update(part + b"\0")
        self.made_from = made_from.hexdigest()

    def _entry(self, bucket: jinja2.bccache.Bucket) -> Path:
        name = hashlib.sha256(f"{self.made_from}\0{bucket.key}".encode()).hexdigest()[:32]
        return self.folder / f"template-{name}.cache"

    def get_source_checksum(self, source: str) -> str:
        return hashlib.sha256(f"{self.made_from}\0{source}".encode()).hexdigest()

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            with open(self._entry(bucket), "rb") as f:
                stat = os.fstat(f.fileno())
                if stat.st_uid != os.getuid() or stat.st_mode & 0o022:
                    return
                bucket.load_bytecode(f)
        except FileNotFoundError:
            return
        except Exception:  # noqa: BLE001 - compiled again instead
            log.debug("template code not usable from %s", self.folder, exc_info=True)
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".template-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    bucket.write_bytecode(f)
                os.replace(tmp, self._entry(bucket))
            except BaseException:
                os.unlink(tmp)
                raise
        except Exception as e:  # noqa: BLE001 - compiled again next time
            log.debug("template code not cached in %s: %s", self.folder, e)


def _code_cache(language: str, html: bool) -> TemplateCodeCache | None:
    from service.config.loading import cache_dir_for

    folder = cache_dir_for(os.environ)
    return TemplateCodeCache(folder, language, html) if folder is not None else None


@lru_cache(maxsize=8)
def _environment(language: str, html: bool) -> jinja2.Environment:
    # HTML is autoescaped; the plain-text part must keep "<" and "&" as typed.
    env = jinja2.Environment(
        bytecode_cache=_code_cache(language, html),
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
