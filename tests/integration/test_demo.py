"""`baocao demo` end to end: the same command an administrator tries first."""

from __future__ import annotations

import email
import io
import json
from email import policy

import openpyxl

from tests.integration.test_cli import baocao
from tests.mailbuilders import EXAMPLE_CONFIG


def test_demo_produces_the_digest_workbook_and_status(tmp_path, dovecot):
    out = tmp_path / "demo-output"
    r = baocao("--config", str(EXAMPLE_CONFIG), "demo", "--out", str(out), "--date", "2026-11-20")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "Đã báo cáo 12/14 đơn vị" in r.stdout and "reminder(s)" in r.stdout
    names = {p.name for p in out.iterdir()}
    assert {
        "digest-2026-11-20.html",
        "digest-2026-11-20.eml",
        "tong-hop-2026-11-20.xlsx",
        "status.txt",
        "export-2026-11-20.json",
        "acknowledgement-example.eml",
    } <= names
    doc = json.loads((out / "export-2026-11-20.json").read_text(encoding="utf-8"))
    statuses = sorted(u["status"] for u in doc["units"])
    assert statuses.count("missing") == 2 and statuses.count("late") == 1 and statuses.count("unreadable") == 1
    assert len(doc["unassigned"]) == 1
    digest = email.message_from_bytes((out / "digest-2026-11-20.eml").read_bytes(), policy=policy.default)
    [book] = [p for p in digest.iter_attachments() if p.get_filename().endswith(".xlsx")]
    assert openpyxl.load_workbook(io.BytesIO(book.get_content())).sheetnames
    ack = email.message_from_bytes((out / "acknowledgement-example.eml").read_bytes(), policy=policy.default)
    assert ack["Auto-Submitted"] == "auto-replied" and ack["In-Reply-To"]
