"""Read the tables of a Word .docx into a `Grid`: one sheet per table, the paragraphs
before it as its notes."""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from typing import Any

from parsers.model import Problem, ReadLimits
from parsers.readers.common import (
    Cell,
    Grid,
    GridError,
    Sheet,
    TextDecoder,
    as_active,
    coordinate,
    merges_from_cells,
    note_truncation,
)
from parsers.readers.ooxml import check_zip_container, content_type, has_dtd, open_zip, package_target

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# An lxml element of python-docx's document tree (lxml has no type information here).
_Element = Any


def _docx_font(tc_or_p: _Element, default_font: str | None) -> str | None:
    for rfonts in tc_or_p.iter(_W + "rFonts"):
        name = rfonts.get(_W + "ascii") or rfonts.get(_W + "hAnsi") or rfonts.get(_W + "cs")
        if name:
            return str(name)
    return default_font


def _docx_text(el: _Element) -> str:
    """Text of a paragraph or cell: runs joined, paragraphs on separate lines."""
    paragraphs = []
    for p in el.iter(_W + "p"):
        parts = []
        for node in p.iter(_W + "t", _W + "tab", _W + "br"):
            if node.tag == _W + "t":
                parts.append(node.text or "")
            elif node.tag == _W + "tab":
                parts.append("\t")
            else:
                parts.append("\n")
        paragraphs.append("".join(parts))
    return "\n".join(paragraphs)


_PKG_RELS_PART = "_rels/.rels"
_OFFICE_DOCUMENT_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_STYLES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles"
_WML_DOCUMENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def _docx_body(zf: zipfile.ZipFile, filename: str) -> tuple[Any, str | None]:
    """The <w:body> of the main document, parsed by python-docx, and the font of the
    Normal style, as `docx.Document(...)` and `styles["Normal"].font.name` give them.

    `docx.Document` also loads and parses every other part (styles.xml alone is often
    hundreds of kilobytes, more than the document); only these two things are used.
    """
    from docx.oxml.parser import parse_xml

    main = package_target(zf, _PKG_RELS_PART, "", _OFFICE_DOCUMENT_REL, filename)
    if main is None:
        raise GridError("file_unreadable", file=filename, error="KeyError", detail="no main document part")
    main_type = content_type(zf, main, filename)
    if main_type != _WML_DOCUMENT_TYPE:  # what python-docx refuses too (.docm, .dotx)
        raise GridError(
            "file_unreadable",
            file=filename,
            error="ValueError",
            detail=f"not a Word document, content type is {main_type!r}",
        )
    data = zf.read(main)
    if has_dtd(data):
        raise GridError("unsafe_file", file=filename, detail="DTD")
    body = parse_xml(data).body
    folder, name = posixpath.split(main)
    styles = package_target(zf, posixpath.join(folder, "_rels", f"{name}.rels"), folder, _STYLES_REL, filename)
    return body, (_normal_style_font(zf, styles) if styles else None)


def _normal_style_font(zf: zipfile.ZipFile, styles: str) -> str | None:
    """`w:rPr/w:rFonts/@w:ascii` of the style named "Normal" (else with that id), read
    only as far as that style: it comes early in a styles part that can be large.
    (No entity is expanded: `check_zip_container` refused a DTD at the part's start,
    and lxml is told not to resolve entities.)"""
    from lxml import etree

    if styles not in zf.namelist():
        return None
    by_id = None
    with zf.open(styles) as fh:
        for _, style in etree.iterparse(fh, tag=_W + "style", resolve_entities=False, no_network=True, huge_tree=False):
            name = style.find(_W + "name")
            if name is not None and name.get(_W + "val") == "Normal":
                return _style_font(style)
            if by_id is None and style.get(_W + "styleId") == "Normal":
                by_id = _style_font(style)
            style.clear()
    return by_id


def _style_font(style: _Element) -> str | None:
    rpr = style.find(_W + "rPr")
    fonts = rpr.find(_W + "rFonts") if rpr is not None else None
    name = fonts.get(_W + "ascii") if fonts is not None else None
    return str(name) if name is not None else None


def read_docx(data: bytes, limits: ReadLimits, filename: str) -> Grid:
    """Every table of a .docx as a sheet; the paragraphs before it become its notes."""
    with open_zip(data, filename) as zf:
        check_zip_container(zf, limits, filename)
        body, default_font = _docx_body(zf, filename)
    decode = TextDecoder()
    problems: list[Problem] = []
    sheets: list[Sheet] = []
    notes: list[str] = []
    for child in _block_items(body):
        if child.tag == _W + "p":
            text = _docx_text(child)
            if text.strip():
                notes.append(decode(text, _docx_font(child, default_font)))
        elif child.tag == _W + "tbl":
            if len(sheets) >= limits.max_sheets:
                problems.append(
                    Problem("over_limit", {"file": filename, "limit": "sheets", "detail": str(limits.max_sheets)})
                )
                break
            name = str(len(sheets) + 1)
            sheet = _read_docx_table(child, name, tuple(notes), limits, filename, decode, default_font, problems)
            sheets.append(sheet)
            # A letterhead is often a borderless table: its lines ("Đơn vị: ...") are
            # context for the tables after it, like paragraphs.
            pending = ""
            for key in sorted(sheet.cells)[:500]:
                text = sheet.cells[key].text.strip()
                if pending:
                    notes.append(f"{pending} {text}")
                    pending = ""
                elif text.endswith(":"):
                    pending = text  # "Đơn vị:" | "UBND ..." in the next cell
                else:
                    notes.append(text)
    if sheets:
        sheets[0] = as_active(sheets[0])
    return Grid(tuple(sheets), tuple(problems))


def _block_items(parent: _Element) -> Iterator[_Element]:
    """Paragraphs and tables in document order, looking inside content controls."""
    for child in parent.iterchildren():
        if child.tag == _W + "sdt":
            content = child.find(_W + "sdtContent")
            if content is not None:
                yield from _block_items(content)
        else:
            yield child


def _read_docx_table(
    tbl: _Element,
    name: str,
    notes: tuple[str, ...],
    limits: ReadLimits,
    filename: str,
    decode: TextDecoder,
    default_font: str | None,
    problems: list[Problem],
) -> Sheet:
    cells: dict[tuple[int, int], Cell] = {}
    origin: dict[tuple[int, int], tuple[int, int]] = {}
    over_rows = over_cols = False
    rows = tbl.findall(_W + "tr")
    if len(rows) > limits.max_rows:
        over_rows = True
        rows = rows[: limits.max_rows]
    for r_idx, tr in enumerate(rows, start=1):
        col = 1
        trpr = tr.find(_W + "trPr")
        if trpr is not None:
            before = trpr.find(_W + "gridBefore")
            if before is not None:
                col += _int_attr(before, 0)
        for tc in tr.findall(_W + "tc"):
            span, vmerge = 1, None
            tcpr = tc.find(_W + "tcPr")
            if tcpr is not None:
                gs = tcpr.find(_W + "gridSpan")
                if gs is not None:
                    span = max(1, min(_int_attr(gs, 1), limits.max_columns))
                vm = tcpr.find(_W + "vMerge")
                if vm is not None:
                    vmerge = vm.get(_W + "val") or "continue"
            if col > limits.max_columns:
                over_cols = True
                break
            if vmerge == "continue" and (r_idx - 1, col) in origin:
                o = origin[(r_idx - 1, col)]
            else:
                o = (r_idx, col)
                text = _docx_text(tc).strip()
                if text:
                    text = decode(text, _docx_font(tc, default_font))
                    cells[o] = Cell(text, text, _docx_font(tc, default_font), False, coordinate(*o))
            for c in range(col, min(col + span, limits.max_columns + 1)):
                origin[(r_idx, c)] = o
            col += span
    note_truncation(problems, filename, name, over_rows, over_cols, limits)
    return Sheet(name=name, cells=cells, merged=merges_from_cells(origin), notes=notes)


def _int_attr(el: _Element, default: int) -> int:
    try:
        return int(el.get(_W + "val"))
    except (TypeError, ValueError):
        return default
