"""The one-way flow (service → storage → parsers, the rooms inside service/, parsers pure)
holds: the contracts are written once, in .importlinter, and checked here as in `make lint`."""

from __future__ import annotations

import os
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]


def test_the_import_contracts_of_importlinter_are_kept(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert (ROOT / ".importlinter").is_file()
    assert lint_imports(config_filename=os.fspath(ROOT / ".importlinter"), no_cache=True) == 0
