"""QR codes drawn as vector paths, shared by the tickets and the QR-bill."""

from __future__ import annotations

from collections.abc import Iterator

from fpdf import FPDF
from qrcode import QRCode
from qrcode.constants import ERROR_CORRECT_M

#: any fixed mask gives a valid code; the automatic choice of the best of eight costs most of
#: a QR code's time
FIXED_MASK = 4


def qr_matrix(data: str | bytes) -> list[list[bool]]:
    """The modules of a QR code (error correction M, fixed mask), without border modules: the
    page leaves the quiet zone blank around the drawn code."""
    code = QRCode(error_correction=ERROR_CORRECT_M, border=0, mask_pattern=FIXED_MASK)
    code.add_data(data)
    code.make(fit=True)
    return [[bool(module) for module in row] for row in code.get_matrix()]


def dark_runs(matrix: list[list[bool]]) -> Iterator[tuple[int, int, int]]:
    """Each run of dark modules in a row: (row, first column, length)."""
    for row_index, row in enumerate(matrix):
        column, size = 0, len(row)
        while column < size:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < size and row[column]:
                column += 1
            yield row_index, start, column - start


def draw_qr(pdf: FPDF, matrix: list[list[bool]], left: float, top: float, size: float) -> None:
    """Draw ``matrix`` as a ``size`` square at (``left``, ``top``), in the document's unit.

    One filled path of rectangles, one per run, written as raw PDF operators: fpdf2's drawing
    API deep-copies a path of hundreds of rectangles and took most of a ticket's time, and
    separate fills leave hairline seams between modules on screen.
    """
    k = pdf.k
    module = size / len(matrix) * k
    x0, y0 = left * k, (pdf.h - top) * k
    ops = ["q 0 g"]
    for row, start, length in dark_runs(matrix):
        ops.append(
            f"{x0 + start * module:.2f} {y0 - (row + 1) * module:.2f} "
            f"{length * module:.2f} {module:.2f} re"
        )
    ops.append("f Q")
    # fpdf2 has no public call for raw content; the read-back tests decode every code drawn.
    pdf._out("\n".join(ops))
