"""Ticket PDFs (issue 9): ``FpdfTicketRenderer`` beside a bare fpdf2 floor, in one run.

The floor is the least fpdf2 program that prints the same thing: one page per ticket with the
same texts at fixed places (``FPDF.text``, no fitting), the same QR code (the same fixed mask,
written as the same filled path) and the same embedded Unicode font (the package's DejaVu Sans,
loaded with ``add_font`` as a bare program does, once per document). Rounds of the library and
of the floor alternate (who goes first swaps each round). Printed: tickets per second for a
document of ``per_round`` tickets, milliseconds for a 4-ticket PDF, each as median (min-max)
with the ratio library / floor; then the peak memory of a batch of 1,000 and of 10,000 tickets
written with ``render_to`` (each in a fresh process: growth of the peak resident size over the
resident size after its first ticket, the peak reset there through ``/proc/self/clear_refs``),
with its rate, and for comparison the same batches each as one fpdf2 document.

    python -m bench.documents [--quick | --tiny]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs
from fpdf import FPDF

from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain_fpdf import DEFAULT_CREATION_DATE, FpdfTicketRenderer, TicketLayout
from ticketdomain_fpdf._fonts import EMBEDDED_FONTS_DIR
from ticketdomain_fpdf._qr import qr_matrix
from ticketdomain_fpdf._renderer import _format_date, _format_time, _local_start

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("Łukasz Kowalski", "Zoë Ñúñez", "Ελένη Παπαδοπούλου", "Анна Каренина", "Ada Lovelace")


@attrs.frozen
class Settings:
    rounds: int
    #: tickets in the document timed for the rate
    per_round: int
    #: 4-ticket PDFs per round for the latency
    small_per_round: int
    #: batch sizes whose peak memory is measured (each in its own process)
    batches: tuple[int, ...]


def settings_for(quick: bool, tiny: bool) -> Settings:
    if tiny:
        return Settings(rounds=2, per_round=4, small_per_round=1, batches=(20, 60))
    if quick:
        return Settings(rounds=5, per_round=40, small_per_round=5, batches=(1000, 10000))
    return Settings(rounds=9, per_round=100, small_per_round=10, batches=(1000, 10000))


def tickets(count: int) -> Iterator[PrintableTicket]:
    """Tickets as the shop prints them: 26-character barcodes, names in several scripts."""
    for number in range(count):
        yield PrintableTicket(
            ticket_id=f"tkt_{number:07d}",
            barcode=f"K7Q2M9XW{number:010d}ABCDEFGH",
            organization="Opéra de Lyon",
            activity="La Traviata",
            performance_starts_at=datetime(2026, 6, 14, 20, 30, tzinfo=ZoneInfo("Europe/Paris")),
            venue="Grande salle",
            product="Orchestre",
            tariff="Plein tarif",
            price=Money(Decimal("45.50"), "EUR"),
            order_id=f"ord_{number // 4:06d}",
            beneficiary=f"{NAMES[number % len(NAMES)]}",
        )


# --- the floor ----------------------------------------------------------------------------------


def floor_pdf(batch: list[PrintableTicket]) -> bytes:
    """The same tickets with bare fpdf2: fixed places, no fitting, one face."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(DEFAULT_CREATION_DATE)
    pdf.set_auto_page_break(False)
    pdf.add_font("dejavu", "", str(EMBEDDED_FONTS_DIR / "DejaVuSans.ttf"))
    for ticket in batch:
        pdf.add_page()
        starts_at = _local_start(ticket)
        y = 26.0
        for text, size in (
            (ticket.organization, 10),
            (ticket.activity, 18),
            (_format_date(starts_at), 13),
            (_format_time(starts_at), 13),
            (ticket.venue, 11),
            ("Name", 8),
            (ticket.beneficiary, 13),
            ("Product", 8),
            (ticket.product, 11),
            ("Tariff", 8),
            (ticket.tariff, 11),
            ("Price", 8),
            (f"{ticket.price.amount} {ticket.price.currency}", 11),
            ("Order", 8),
            (ticket.order_id, 11),
            ("Ticket", 8),
            (ticket.ticket_id, 11),
        ):
            pdf.set_font("dejavu", "", size)
            pdf.text(23, y, text)
            y += size * 0.45 + 1
        pdf.set_font("dejavu", "", 10)
        pdf.text(130, 70, ticket.barcode[:20])
        pdf.text(130, 75, ticket.barcode[20:])
        pdf.set_font("dejavu", "", 7.5)
        pdf.text(23, 138, "Valid for one admission: the barcode is checked at the entrance.")
        _floor_qr(pdf, ticket.barcode)
        pdf.rect(15, 15, 180, 128)
    return bytes(pdf.output())


def _floor_qr(pdf: FPDF, barcode: str) -> None:
    matrix = qr_matrix(barcode)
    k = pdf.k
    module = 42 / len(matrix) * k
    x0, y0 = 145 * k, (pdf.h - 23) * k
    ops = ["q 0 g"]
    # One rectangle per run of dark modules in a row, one fill: as the library draws it.
    for row_index, row in enumerate(matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            start = column
            while column < len(row) and row[column]:
                column += 1
            ops.append(
                f"{x0 + start * module:.2f} {y0 - (row_index + 1) * module:.2f} "
                f"{(column - start) * module:.2f} {module:.2f} re"
            )
    ops.append("f Q")
    pdf._out("\n".join(ops))


# --- timing ---------------------------------------------------------------------------------


def alternate(
    library: Callable[[], object],
    floor: Callable[[], object],
    rounds: int,
    per_round: int,
    count: int,
    unit: str,
) -> tuple[list[float], list[float]]:
    """Rounds of each side, alternating; per round: tickets per second, or ms per call."""
    results: dict[str, list[float]] = {"library": [], "floor": []}
    for index in range(rounds):
        sides = [("library", library), ("floor", floor)]
        if index % 2:
            sides.reverse()
        for side, action in sides:
            start = time.perf_counter()
            for _ in range(per_round):
                action()
            elapsed = time.perf_counter() - start
            results[side].append(
                per_round * count / elapsed if unit == "per s" else elapsed * 1e3 / per_round
            )
    return results["library"], results["floor"]


def spread(values: list[float], unit: str) -> str:
    def show(value: float) -> str:
        return f"{value:,.0f}" if unit == "per s" else f"{value:,.1f}"

    return f"{show(statistics.median(values))} ({show(min(values))}-{show(max(values))})"


@attrs.define
class Row:
    operation: str
    unit: str
    library: list[float]
    floor: list[float]

    @property
    def ratio(self) -> float:
        """Library / floor as a speed: higher is better (1.0: as fast as the floor)."""
        library, floor = statistics.median(self.library), statistics.median(self.floor)
        return library / floor if self.unit == "per s" else floor / library


def memory(count: int, layout: int, *, whole: bool = False) -> dict[str, float]:
    """Peak memory of ``render_to`` for ``count`` tickets, in a fresh process (``whole``: of
    one fpdf2 document holding them all, as ``render`` would without parts, to compare)."""
    code = (
        "import json, sys; from bench.documents import measure_batch; "
        f"print(json.dumps(measure_batch({count}, {layout}, whole={whole})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak() -> int:
    """The resident size now, in kB, with the peak (high-water mark) reset to it where Linux
    allows (``/proc/self/clear_refs``); else the peak so far (``ru_maxrss``)."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
        now = _status_kb("VmRSS")
        if now is not None:
            return now
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak() -> int:
    found = _status_kb("VmHWM")
    return found if found is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure_batch(count: int, layout: int, *, whole: bool = False) -> dict[str, float]:
    renderer = FpdfTicketRenderer(layout=layout)
    renderer.render(list(tickets(1)))  # fonts parsed, modules loaded: the process at rest
    base = _reset_peak()
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        if whole:
            out.write(renderer._render_part(list(tickets(count))))
        else:
            renderer.render_to(out, tickets(count))
        elapsed = time.perf_counter() - start
        size = out.tell()
    peak = _peak()
    # Both in kilobytes.
    return {
        "tickets": count,
        "seconds": elapsed,
        "per_s": count / elapsed,
        "base_mb": base / 1024,
        "peak_mb": peak / 1024,
        "growth_mb": (peak - base) / 1024,
        "file_mb": size / 1e6,
    }


def run(settings: Settings) -> list[Row]:
    renderer = FpdfTicketRenderer()
    batch = list(tickets(settings.per_round))
    four = batch[:4]
    # Both sides warm: fonts parsed, qrcode tables built.
    renderer.render(four)
    floor_pdf(four)
    rows = []
    library, floor = alternate(
        lambda: renderer.render(batch),
        lambda: floor_pdf(batch),
        settings.rounds,
        1,
        len(batch),
        "per s",
    )
    rows.append(Row(f"tickets PDF, {len(batch)} tickets, 1 per page", "per s", library, floor))
    four_up = FpdfTicketRenderer(layout=TicketLayout.FOUR_PER_PAGE)
    four_up.render(four)
    library, floor = alternate(
        lambda: four_up.render(batch),
        lambda: floor_pdf(batch),
        settings.rounds,
        1,
        len(batch),
        "per s",
    )
    rows.append(Row(f"tickets PDF, {len(batch)} tickets, 4 per page", "per s", library, floor))
    library, floor = alternate(
        lambda: renderer.render(four),
        lambda: floor_pdf(four),
        settings.rounds,
        settings.small_per_round,
        4,
        "ms",
    )
    rows.append(Row("tickets PDF of 4 tickets", "ms", library, floor))
    return rows


def table(rows: list[Row]) -> str:
    lines = ["| PDF | floor | library | library/floor |", "|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row.operation} | {spread(row.floor, row.unit)} {row.unit} "
            f"| {spread(row.library, row.unit)} {row.unit} | {row.ratio:.2f} |"
        )
    return "\n".join(lines)


def report(quick: bool, tiny: bool) -> list[Row]:
    """Print the PDF table and the batch memory lines; return the rows."""
    settings = settings_for(quick, tiny)
    print("\nticket PDFs ...", flush=True)
    rows = run(settings)
    print(table(rows))
    for count in settings.batches:
        found = memory(count, 1)
        print(
            f"batch of {count:,} tickets (render_to, 1 per page): peak memory "
            f"+{found['growth_mb']:.1f} MB over the process at rest ({found['peak_mb']:.0f} MB), "
            f"{found['per_s']:,.0f} tickets/s, file {found['file_mb']:.1f} MB",
            flush=True,
        )
    # The same batches as one fpdf2 document each (no parts): what the parts save.
    for count in settings.batches:
        found = memory(count, 1, whole=True)
        print(
            f"  for comparison, {count:,} tickets in one fpdf2 document (no parts): peak memory "
            f"+{found['growth_mb']:.1f} MB ({found['peak_mb']:.0f} MB)",
            flush=True,
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description="ticket PDFs beside a bare fpdf2 floor")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    report(args.quick, args.tiny)


if __name__ == "__main__":
    main()
