"""openpyxl, imported without numpy.

openpyxl looks for numpy when it is first imported (to take numpy numbers as cell
values) and, numpy being installed for the scan reader, imports it: about a tenth of a
second of every command that writes a workbook (`digest`, `export --format xlsx`). The
outputs never give openpyxl a numpy number, so the first import of openpyxl is made
with numpy hidden from it; numpy itself stays importable afterwards (the scan reader
imports it as usual). Once either is imported this does nothing.
"""

from __future__ import annotations

import sys


def import_openpyxl() -> None:
    """Import openpyxl, numpy hidden from it when neither is imported yet."""
    if "openpyxl" in sys.modules or "numpy" in sys.modules:
        return
    sys.modules["numpy"] = None  # type: ignore[assignment]  # `import numpy` raises ImportError
    try:
        import openpyxl  # noqa: F401
    finally:
        if "numpy" in sys.modules and sys.modules["numpy"] is None:
            del sys.modules["numpy"]
