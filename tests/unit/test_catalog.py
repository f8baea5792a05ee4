"""The wording: one template per mail and one catalog per language, the same keys in each."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from service.outputs.render import pieces_used, render_template
from templates import catalog, languages

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
MAILS = ("digest.html", "digest.txt", "ack.html", "ack.txt", "reminder.txt")


def keys(table: dict, prefix: str = "") -> set[str]:
    out = set()
    for k, v in table.items():
        if isinstance(v, dict):
            out |= keys(v, f"{prefix}{k}.")
        else:
            out.add(f"{prefix}{k}")
    return out


def test_a_language_is_exactly_one_catalog_file():
    assert languages() == ["en", "vi"]
    assert sorted(p.name for p in (TEMPLATES / "lang").iterdir()) == ["en.toml", "vi.toml"]
    # no per-language copies of a template or of a text file beside the catalogs
    per_language = [p.name for p in TEMPLATES.iterdir() if re.search(r"\.(vi|en)\.", p.name)]
    assert per_language == []
    assert sorted(p.name for p in TEMPLATES.iterdir() if p.suffix in (".html", ".txt", ".toml")) == sorted(MAILS)


def test_every_key_of_one_catalog_is_in_the_other():
    vi, en = keys(catalog("vi")), keys(catalog("en"))
    assert vi - en == set(), "in vi.toml, missing in en.toml"
    assert en - vi == set(), "in en.toml, missing in vi.toml"


@pytest.mark.parametrize("name", MAILS)
@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_piece_a_template_uses_is_in_the_catalog(name, language):
    used = pieces_used((TEMPLATES / name).read_text(encoding="utf-8"))
    assert used, f"{name} takes no wording from the catalog"
    assert set(used) <= keys(catalog(language)), set(used) - keys(catalog(language))
    assert all(isinstance(_lookup(catalog(language), k), str) for k in used)


def test_every_piece_of_a_template_section_is_used():
    sections = {name.replace(".", "_"): name for name in MAILS}
    for section, name in sections.items():
        used = set(pieces_used((TEMPLATES / name).read_text(encoding="utf-8")))
        defined = {f"{section}.{k}" for k in catalog("vi")[section]}
        assert defined - used == set(), f"[{section}] has texts {name} does not use"


def test_the_code_uses_only_keys_that_exist():
    """The sections and keys the Python code reads by name."""
    for language in languages():
        c = catalog(language)
        for section in (
            "reasons",
            "status",
            "problems",
            "service_problems",
            "digest_state",
            "notes",
            "excluded",
            "excluded_reasons",
            "health",
            "check",
            "digest",
            "form",
            "replies",
            "status_table",
        ):
            assert isinstance(c[section], dict), section
        assert {"reply_prefix", "ack_subject_fallback", "reminder_subject", "form_filename"} <= set(c["replies"])
        assert {"money_unit", "weekdays", "workbook_filename", "duplicate_filename"} <= set(c["digest"])


def test_a_missing_piece_names_the_catalog_and_the_key(monkeypatch):
    from service.outputs import render

    with pytest.raises(KeyError, match=r"templates/lang/vi.toml has no text 'digest_html.nope'"):
        render.catalog_piece("vi", "digest_html.nope", "digest.html")


def test_the_reminder_renders_in_each_language_from_the_same_template():
    model = {
        "unit": {"code": "x", "name": "Phường Sông Cầu"},
        "day": "11/08/2021",
        "now": {"time": "10:00"},
        "deadline": "15:00",
        "before_deadline": True,
        "form_file": "mau.xlsx",
        "report_address": "",
        "senders": [],
        "title": "",
        "report": None,
        "cumulative": True,
    }
    vi, en = render_template("reminder.txt", model, "vi"), render_template("reminder.txt", model, "en")
    assert vi.startswith("Kính gửi Phường Sông Cầu,") and en.startswith("Dear Phường Sông Cầu,")
    assert "[%" not in vi + en
    assert "báo cáo tiến độ ngày 11/08/2021" in vi and "số liệu lũy kế" in vi
    # one of several [[reports]]: named with its period and deadline
    model |= {
        "report": {"title": "Báo cáo tuần", "period": "tuần 09/08–15/08/2021", "deadline": "16:00 13/08/2021"},
        "cumulative": False,
    }
    vi, en = render_template("reminder.txt", model, "vi"), render_template("reminder.txt", model, "en")
    assert "chưa nhận được Báo cáo tuần, tuần 09/08–15/08/2021 của đơn vị" in vi
    assert "Hạn nộp báo cáo là 16:00 13/08/2021." in vi and "lũy kế" not in vi
    assert "Báo cáo tuần, tuần 09/08–15/08/2021" in en and "16:00 13/08/2021" in en and "cumulative" not in en


def _lookup(table, key):
    for part in key.split("."):
        table = table[part]
    return table


@pytest.mark.parametrize("language", languages())
def test_every_mail_renders_in_every_language_without_a_marker_left(language):
    """Each language's pieces are valid Jinja for their template: the digest, every variant
    of the reply (report, shared sender, unknown sender) and the reminder."""
    from service.outputs.replies import ack_model, notice_model, reminder_model, unresolved_model
    from tests.unit.test_digest import DAY, UNITS, at, make_cfg, msg, render

    cfg = make_cfg(language)
    digest = render(cfg)
    report = msg("BHXH", at(DAY, 16, 5), {("ngung_viec", "de_nghi"): 12}, files=("a.xlsx",))
    unreadable = msg("BHXH", at(DAY, 9, 0), readable=False, files=("scan.pdf",))
    unknown = msg(
        None, at(DAY, 13, 45), kind="unassigned", reason="unknown_sender:x@khac.gov.vn", sender="x@khac.gov.vn"
    )
    shared = msg(
        None,
        at(DAY, 9, 20),
        kind="unassigned",
        reason="shared_sender_unresolved:SONG_CAU",
        sender="vanphong@example.gov.vn",
    )
    models = [
        ack_model(cfg, report, UNITS[0]),
        ack_model(cfg, unreadable, UNITS[0]),
        notice_model(cfg, unknown),
        unresolved_model(cfg, shared),
    ]
    mails = [
        digest.html,
        digest.text,
        render_template("reminder.txt", reminder_model(cfg, UNITS[1], DAY, at(DAY, 16, 0)), language),
    ]
    mails += [render_template(name, m, language) for m in models for name in ("ack.txt", "ack.html")]
    for text in mails:
        assert "[%" not in text and "%]" not in text
        assert text.strip()
    greeting = catalog(language)["ack_txt"]["dear"].split("{{")[0]
    assert greeting in mails[3]


def test_compiled_templates_are_kept_in_the_private_cache_folder(monkeypatch, tmp_path):
    """The templates' compiled code is kept between commands (BAOCAO_CACHE_DIR), used only
    from an entry of this user not writable by others, and never shared across languages."""
    import jinja2

    from service.outputs import render

    folder = tmp_path / "cache"
    monkeypatch.setenv("BAOCAO_CACHE_DIR", str(folder))
    compiled: list[str] = []
    real_compile = jinja2.Environment.compile

    def counting_compile(self, source, name=None, filename=None, raw=False, defer_init=False):
        compiled.append(name)
        return real_compile(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting_compile)
    model = {
        "unit": {"code": "x", "name": "Phường Sông Cầu"},
        "day": "11/08/2021",
        "now": {"time": "10:00"},
        "deadline": "15:00",
        "before_deadline": True,
        "form_file": "mau.xlsx",
        "report_address": "",
        "senders": [],
        "title": "",
        "report": None,
        "cumulative": True,
    }

    def fresh(language: str) -> str:
        render._environment.cache_clear()  # as a new command would
        return render_template("reminder.txt", model, language)

    try:
        first = fresh("vi")
        assert compiled == ["reminder.txt"]
        (entry,) = folder.glob("template-*.cache")
        assert folder.stat().st_mode & 0o777 == 0o700 and entry.stat().st_mode & 0o777 == 0o600
        assert fresh("vi") == first and compiled == ["reminder.txt"]  # from the cache
        english = fresh("en")
        assert english != first and len(compiled) == 2 and len(list(folder.glob("template-*.cache"))) == 2
        entry.chmod(0o666)  # writable by others: ignored, compiled again
        assert fresh("vi") == first and len(compiled) == 3
        monkeypatch.setenv("BAOCAO_CACHE_DIR", "")  # no cache folder: compiled every time
        assert fresh("vi") == first and len(compiled) == 4
    finally:
        render._environment.cache_clear()
