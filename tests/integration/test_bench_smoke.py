"""``make bench`` in its tiniest mode runs, and its floor does the library's work: one order, one
scan and one dashboard of the floor change as many rows in every table (and leave as many
tickets in each state) as the library's. On SQLite, and on PostgreSQL when
TICKETDOMAIN_TEST_PG_URL is set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_tiny_bench_runs_and_its_floor_writes_what_the_library_writes(
    tmp_path: Path,
) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, "-m", "bench", "--tiny", "--json", str(out)]
    postgresql = bool(os.environ.get("TICKETDOMAIN_TEST_PG_URL"))
    if not postgresql:
        command.append("--no-postgresql")
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| place an order of 4 tickets" in done.stdout
    # Ticket PDFs beside their floor, and a batch's memory.
    assert "| tickets PDF of 4 tickets |" in done.stdout
    assert "batch of 60 tickets (render_to" in done.stdout

    rows = json.loads(out.read_text())
    storages = {row["storage"].split()[0] for row in rows}
    assert storages == ({"SQLite", "PostgreSQL"} if postgresql else {"SQLite"})
    for row in rows:
        written = row["written"]
        assert row["same_rows"], row
        assert written["library"] == written["floor"], row
        assert min(row["floor"] + row["library"]) > 0, row
        assert 0 < row["floor_statements"] <= row["library_statements"], row
    orders = [row for row in rows if row["operation"].startswith("place an order")]
    scans = [row for row in rows if row["operation"].startswith("scan")]
    assert orders and scans
    for row in orders:
        # Not vacuous: the order wrote its rows.
        assert row["written"]["floor"]["td_orders"] == 1
        assert row["written"]["floor"]["td_tickets"] == 4
        assert row["written"]["floor"]["td_barcodes"] == 4
        assert row["written"]["floor"]["td_ledger_entries"] == 1
    for row in scans:
        assert row["written"]["floor"] == {"td_tickets[controlled]": 1, "td_tickets[printed]": -1}
