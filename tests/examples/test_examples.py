"""Every example runs, and leaves what it promises under its output folder."""

from __future__ import annotations

import email
import email.policy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, out: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout.splitlines()


def test_the_agency_walkthrough_runs_on_sqlite(tmp_path: Path) -> None:
    lines = run("agency_walkthrough.py", tmp_path)
    assert all(line.startswith("- ") for line in lines)
    text = "\n".join(lines)
    assert "refused as expected: [tariff_not_offered]" in text
    assert "expired after 3 days (1 expired)" in text
    assert "invoice settled, outstanding 0.00 CHF" in text
    assert (tmp_path / "ticketdomain.sqlite3").exists()
    (pdf,) = tmp_path.glob("tickets-*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    (mail,) = (tmp_path / "mail").glob("*.eml")
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert message["To"] == "jean.muller@example.org"
    report = (tmp_path / "sales-report.csv").read_text().splitlines()
    assert report[0].startswith("placed_at,order_id,relay") and len(report) == 4
    assert len(list((tmp_path / "documents").iterdir())) == 2  # the document and its sidecar
