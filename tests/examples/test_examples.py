"""Every example runs, and leaves what it promises under its output folder."""

from __future__ import annotations

import email
import email.policy
import re
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import openpyxl
from pypdf import PdfReader

ROOT = Path(__file__).resolve().parents[2]


def run(script: str, out: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(out)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout.splitlines()


def messages(mail: Path) -> list[EmailMessage]:
    found = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(mail.glob("*.eml"))
    ]
    return [message for message in found if isinstance(message, EmailMessage)]


def recipients(mail: Path) -> list[str]:
    return sorted(str(message["To"]) for message in messages(mail))


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_the_agency_walkthrough_runs_on_sqlite(tmp_path: Path) -> None:
    lines = run("agency_walkthrough.py", tmp_path)
    assert all(line.startswith("- ") for line in lines)
    text = "\n".join(lines)
    assert "who logged in with her password" in text
    assert "2 welcome mails with a one-time login link delivered" in text
    assert "chose a password and logged in with it (the link again: [session_invalid])" in text
    assert "refused as expected: [tariff_not_offered]" in text
    assert (
        "forged payload refused: SetCreditLimit to 1000000000 CHF with a made-up token "
        "[session_invalid], with Alice's own relay token [actor_not_allowed], with a session "
        "object claiming to be an operator [payload_invalid]; the credit limit is still "
        "1000.00 CHF"
    ) in text
    assert "expired after 3 days (1 expired)" in text
    assert "the sessions had expired too [session_invalid]" in text
    assert "invoice settled, outstanding 0.00 CHF" in text
    database = tmp_path / "ticketdomain.sqlite3"
    assert database.exists()
    # Passwords are stored as argon2id hashes, never as typed.
    stored = database.read_bytes()
    assert b"$argon2id$" in stored
    assert b"front desk" not in stored and b"back office" not in stored
    (pdf,) = tmp_path.glob("tickets-*.pdf")
    assert pdf.read_bytes().startswith(b"%PDF-")
    # Two welcome mails with a login link, the transfer notice, the invoice and the credit note.
    assert recipients(tmp_path / "mail") == [
        "accounts@beau-rivage.example",
        "accounts@beau-rivage.example",
        "alice@beau-rivage.example",
        "bob@beau-rivage.example",
        "jean.muller@example.org",
    ]
    subjects = {str(m["Subject"]): m for m in messages(tmp_path / "mail")}
    # Each in its reader's language, with a text and an HTML part.
    assert "Votre accès au point de vente" in subjects
    assert "Your access to the sales point" in subjects
    for message in subjects.values():
        assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    # The invoice mail carries the invoice's PDF, the transfer mail the tickets.
    invoice_mail = subjects["Opera de Lausanne : facture 1"]
    (attached,) = [part.get_filename() for part in invoice_mail.iter_attachments()]
    assert attached == "invoice-1.pdf"
    transfer = next(m for m in subjects.values() if m["To"] == "jean.muller@example.org")
    assert [p.get_content_type() for p in transfer.iter_attachments()] == ["application/pdf"]
    invoice = pdf_text(tmp_path / "invoice-1.pdf")
    assert "Facture 1" in invoice and "474.00" in invoice
    assert "Section paiement" in invoice  # the QR-bill's payment part
    credit_note = pdf_text(tmp_path / "credit-note-2.pdf")
    assert "Note de crédit pour la facture 1" in credit_note and "-316.00" in credit_note
    assert "Page 1 sur" in pdf_text(tmp_path / "sales-report.pdf")  # Alice reads French
    report = (tmp_path / "sales-report.csv").read_text().splitlines()
    assert report[0].startswith("placed_at,order_id,relay") and len(report) == 4
    assert len(list((tmp_path / "documents").iterdir())) == 2  # the document and its sidecar


def test_the_corporate_walkthrough_runs_on_sqlite(tmp_path: Path) -> None:
    lines = run("corporate_walkthrough.py", tmp_path)
    assert all(line.startswith("- ") for line in lines)
    text = "\n".join(lines)
    assert "its operator logged in with her password" in text
    assert "Nina and Sam opened their one-time link and chose a password" in text
    assert "both on the holding account: stock 35 left to distribute of 35" in text
    assert "import refused as expected, nothing distributed: [import_rejected] row 8" in text
    assert "12 distributed, 20 left blank stay in stock" in text
    assert "Sam mistyped his password [login_failed], then logged in" in text
    assert "refused as expected: [stock_insufficient]" in text
    assert "Marc opened his and clicked its one-time link" in text
    assert "Paul Girard logged in from his invitation too" in text
    assert "stock 14 left to distribute of 35" in text
    assert "each scans with its own API key" in text
    assert "Marc's ticket for Anna: accepted at North gate (Stalls, for Anna Dupont)" in text
    assert "rejected at South gate: already_controlled (controlled at " in text
    assert re.search(r"controlled at \w{3} \d+ \w{3} \d{4}, \d\d:\d\d CES?T, North gate\)", text)
    assert "taken back since: rejected at North gate: revoked" in text
    assert "-   12 left to distribute of 35" in lines
    assert (
        "-   bought 35, received 0, in stock 12, distributed 23 (to individuals 15, handed over "
        "5, to sub-structures: Nestor sports club 3), printed 5 (not yet scanned), controlled 2"
    ) in lines
    assert "dashboard Nestor sports club: 0 left to distribute of 3" in text
    assert (
        "Sam's token is refused right after [session_invalid], and so is his password login "
        "[sales_point_access_denied]"
    ) in text
    assert (tmp_path / "ticketdomain.sqlite3").exists()
    for name in ("handed-over.pdf", "marc-for-anna.pdf", "marc.pdf", "paul.pdf", "dashboard.pdf"):
        assert (tmp_path / name).read_bytes().startswith(b"%PDF-"), name
    assert "Anna Dupont" in pdf_text(tmp_path / "marc-for-anna.pdf")
    sheet = openpyxl.load_workbook(tmp_path / "distribution-sheet.xlsx").active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:2] == ("ticket_id", "activity") and len(rows) == 1 + 12
    # 2 welcomes, 2 + 1 one by one, 6 from the spreadsheet, 2 by the club, Paul's notice,
    # Claire's.
    to = recipients(tmp_path / "mail")
    assert len(to) == 14
    assert {"nina.keller@nestor.example", "sam.rey@nestor.example"} <= set(to)
    assert {"marc.dupont@nestor.example", "tom.roth@nestor.example"} <= set(to)
    assert to.count("paul.girard@nestor.example") == 2  # the invitation, then the notice
    exported = (tmp_path / "stock-export.csv").read_text().splitlines()
    assert exported[0] == "ticket_id,activity,performance,venue,product,first_name,last_name,email"
    assert len(exported) == 1 + 32
    filled = (tmp_path / "stock-filled.csv").read_text().splitlines()
    assert sum(1 for row in filled if row.endswith("@nestor.example")) == 12
    beneficiaries = (tmp_path / "beneficiaries.csv").read_text().splitlines()
    assert beneficiaries[0].startswith("role,name,first_name,last_name,email,received_by,")
    # 10 members, and Anna, who will attend with the ticket Marc printed for her
    assert len(beneficiaries) == 1 + 10 + 1
    assert sum(row.startswith("attendee,Anna Dupont,") for row in beneficiaries) == 1
    assert not any("paul.girard" in row for row in beneficiaries)  # taken back
