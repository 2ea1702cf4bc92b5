"""Batches of tickets written to a stream in parts (``render_to``): one valid PDF whatever the
batch's size, a progress callback, tickets read lazily, and memory that does not grow with the
number of tickets."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from zoneinfo import ZoneInfo

import pypdf
import pytest

from ticketdomain.core.errors import ValidationError
from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain.ports.documents import BatchTicketRenderer, TicketRenderer
from ticketdomain_fpdf import FpdfTicketRenderer, TicketLayout
from ticketdomain_fpdf import _renderer as renderer_module


def ticket(number: int, **changes: object) -> PrintableTicket:
    fields: dict[str, object] = {
        "ticket_id": f"tkt_{number}",
        "barcode": f"TD{number:08d}K7Q2M9XWABCDEF",
        "organization": "Opéra de Lyon",
        "activity": "La Traviata",
        "performance_starts_at": datetime(2025, 6, 14, 20, 30, tzinfo=ZoneInfo("Europe/Paris")),
        "venue": "Grande salle",
        "product": "Orchestre",
        "tariff": "Plein tarif",
        "price": Money(Decimal("45.5"), "EUR"),
        "order_id": "ord_42",
        "beneficiary": ("Łukasz", "Ελένη", "王小明", "محمد")[number % 4] + f" {number}",
    }
    fields.update(changes)
    return PrintableTicket(**fields)  # type: ignore[arg-type]


def stream_of(count: int, read: list[int] | None = None) -> Iterator[PrintableTicket]:
    for number in range(count):
        if read is not None:
            read.append(number)
        yield ticket(number)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> int:
    """Parts of 7 tickets, so a few dozen tickets make several parts."""
    monkeypatch.setattr(renderer_module, "CHUNK_TICKETS", 7)
    return 7


def test_the_renderer_is_a_batch_ticket_renderer() -> None:
    renderer: TicketRenderer = FpdfTicketRenderer()
    # Optional for a host's renderer: a service checks before streaming a batch.
    assert isinstance(renderer, BatchTicketRenderer)


@pytest.mark.parametrize("layout", [TicketLayout.ONE_PER_PAGE, TicketLayout.FOUR_PER_PAGE])
def test_parts_join_into_one_pdf_with_every_ticket_in_order(
    small_parts: int, layout: TicketLayout
) -> None:
    out = BytesIO()
    calls: list[tuple[int, int | None]] = []
    count = FpdfTicketRenderer(layout=layout).render_to(
        out, stream_of(30), progress=lambda done, total: calls.append((done, total))
    )
    assert count == 30
    # Progress after each part; no total for a generator.
    assert calls == [(0, None), (7, None), (14, None), (21, None), (28, None), (30, None)]
    reader = pypdf.PdfReader(BytesIO(out.getvalue()), strict=True)
    per_page = layout.per_page
    assert len(reader.pages) == sum(-(-n // per_page) for n in (7, 7, 7, 7, 2))
    text = "\n".join(page.extract_text() for page in reader.pages)
    positions = [text.index(f"tkt_{n}\n") for n in range(30)]
    assert positions == sorted(positions)
    assert reader.metadata is not None
    assert reader.metadata.title == "Tickets"
    assert "D:20000101" in str(reader.metadata["/CreationDate"])


def test_progress_knows_the_total_of_a_sequence(small_parts: int) -> None:
    calls: list[tuple[int, int | None]] = []
    FpdfTicketRenderer().render_to(
        BytesIO(), [ticket(n) for n in range(10)], progress=lambda d, t: calls.append((d, t))
    )
    assert calls == [(0, 10), (7, 10), (10, 10)]


def test_tickets_are_read_a_part_at_a_time(small_parts: int) -> None:
    read: list[int] = []
    seen: list[int] = []

    def progress(done: int, total: int | None) -> None:
        # When a part is written, at most the next part has been read ahead.
        seen.append(len(read) - done)

    FpdfTicketRenderer().render_to(BytesIO(), stream_of(30, read), progress=progress)
    assert max(seen) <= 2 * small_parts


def test_joined_output_is_deterministic_and_render_agrees(small_parts: int) -> None:
    tickets = [ticket(n) for n in range(16)]
    first, second = BytesIO(), BytesIO()
    FpdfTicketRenderer().render_to(first, tickets)
    FpdfTicketRenderer().render_to(second, iter(tickets))
    assert first.getvalue() == second.getvalue()
    assert FpdfTicketRenderer().render(tickets) == first.getvalue()


def test_one_part_is_written_as_render_writes_it() -> None:
    tickets = [ticket(n) for n in range(3)]
    out = BytesIO()
    assert FpdfTicketRenderer().render_to(out, tickets) == 3
    assert out.getvalue() == FpdfTicketRenderer().render(tickets)


def test_no_ticket_writes_nothing() -> None:
    out = BytesIO()
    with pytest.raises(ValidationError, match="at least one page"):
        FpdfTicketRenderer().render_to(out, iter(()))
    assert out.getvalue() == b""


def test_a_naive_time_in_a_later_part_is_refused(small_parts: int) -> None:
    naive = ticket(20, performance_starts_at=datetime(2025, 6, 14, 20, 30))
    tickets = [ticket(n) for n in range(20)] + [naive]
    with pytest.raises(ValidationError, match="time zone"):
        FpdfTicketRenderer().render_to(BytesIO(), tickets)


def test_memory_does_not_grow_with_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(renderer_module, "CHUNK_TICKETS", 5)
    renderer = FpdfTicketRenderer()
    renderer.render([ticket(0)])  # fonts parsed once for the process, before measuring

    def latin(count: int) -> Iterator[PrintableTicket]:
        return (ticket(n, beneficiary=f"Łukasz Kowalski {n}") for n in range(count))

    def peak(count: int) -> int:
        class Sink:
            """A stream that keeps nothing: only the renderer's own memory is measured."""

            def write(self, data: bytes) -> int:
                return len(data)

        tracemalloc.start()
        try:
            renderer.render_to(Sink(), latin(count))  # type: ignore[arg-type]
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(10), peak(60)
    # Six times the tickets, about the same peak: one part's document at a time.
    assert large < small * 1.5, (small, large)
