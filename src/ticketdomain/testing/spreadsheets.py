"""A contract suite every ``SpreadsheetCodec`` passes (the CSV one of the library, the
``.xlsx`` one of ``ticketdomain_openpyxl``, a host's own): subclass it and implement
:meth:`SpreadsheetCodecContract.make_codec`::

    class TestMyCodec(SpreadsheetCodecContract):
        def make_codec(self) -> SpreadsheetCodec:
            return MyCodec()
"""

from __future__ import annotations

import hypothesis
import pytest
from hypothesis import strategies as st

from ticketdomain.core.errors import CsvInvalidError, CsvTooLargeError, TicketDomainError
from ticketdomain.core.spreadsheets import (
    FORMULA_STARTS,
    Cell,
    SheetLimits,
    Table,
    from_spreadsheet,
)
from ticketdomain.ports.spreadsheets import SpreadsheetCodec


def _not_quoted_formula(text: str) -> bool:
    # "'=1" is how a sheet writes the text "=1": read back it is "=1" (core.spreadsheets).
    return not (text.startswith("'") and text[1:].startswith(FORMULA_STARTS))


#: text a cell may hold (control characters are refused at the library's boundary)
texts = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30).filter(
    _not_quoted_formula
)
#: text a spreadsheet would run as a formula
formulas = st.builds(lambda start, rest: start + rest, st.sampled_from(list("=+-@")), texts)
cells: st.SearchStrategy[Cell] = texts | formulas | st.integers(-(10**15), 10**15)


#: a test of this class runs once per subclass: each is its own executor, same test
_SHARED = [hypothesis.HealthCheck.differing_executors]


class SpreadsheetCodecContract:
    """Tests every spreadsheet codec passes."""

    def make_codec(self) -> SpreadsheetCodec:
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _contract_codec(self) -> None:
        self.codec = self.make_codec()

    def test_it_names_its_files(self) -> None:
        assert "/" in self.codec.media_type
        assert self.codec.extension and not self.codec.extension.startswith(".")

    @hypothesis.settings(max_examples=40, deadline=None, suppress_health_check=_SHARED)
    @hypothesis.given(rows=st.lists(st.lists(cells, min_size=3, max_size=3), max_size=6))
    def test_a_table_written_and_read_back_gives_the_same_rows_as_text(
        self, rows: list[list[Cell]]
    ) -> None:
        table = Table("Any table", ("a", "b", "c"), tuple(tuple(row) for row in rows))
        read = self.codec.read(self.codec.write(table), SheetLimits())
        assert [[from_spreadsheet(cell) for cell in row] for row in read] == [
            ["a", "b", "c"],
            *[[str(value) for value in row] for row in rows],
        ]
        # Formula-safe: no text cell, as written, is one a spreadsheet would run.
        texts = [
            cell
            for row, given in zip(read[1:], rows, strict=True)
            for cell, value in zip(row, given, strict=True)
            if isinstance(value, str)
        ]
        assert not any(cell.startswith(FORMULA_STARTS) for cell in texts)

    def test_blank_cells_and_rows_read_as_empty_text(self) -> None:
        table = Table("Blanks", ("a", "b"), (("x", None), (None, None), ("", "y")))
        read = self.codec.read(self.codec.write(table), SheetLimits())
        # Trailing blank cells may be left out; the rows keep their numbers.
        padded = [row + [""] * (2 - len(row)) for row in read]
        assert padded == [["a", "b"], ["x", ""], ["", ""], ["", "y"]]

    def test_a_file_over_the_size_limit_is_refused(self) -> None:
        content = self.codec.write(Table("Big", ("a",), tuple((f"row {n}",) for n in range(50))))
        assert self.codec.read(content, SheetLimits(max_bytes=len(content)))
        with pytest.raises(CsvTooLargeError):
            self.codec.read(content, SheetLimits(max_bytes=len(content) - 1))

    def test_a_sheet_over_the_row_limit_is_refused(self) -> None:
        content = self.codec.write(Table("Rows", ("a",), tuple((f"row {n}",) for n in range(20))))
        assert len(self.codec.read(content, SheetLimits(max_rows=21))) == 21
        with pytest.raises(CsvTooLargeError):
            self.codec.read(content, SheetLimits(max_rows=20))

    @pytest.mark.parametrize(
        "content",
        [b"\xff\xfe\x00garbage", b"PK\x03\x04\x00\x00broken", b"\x00" * 64],
        ids=["binary", "broken zip", "zeros"],
    )
    def test_a_file_that_is_no_spreadsheet_is_refused_as_invalid(self, content: bytes) -> None:
        with pytest.raises(CsvInvalidError):
            self.codec.read(content, SheetLimits())

    @hypothesis.settings(max_examples=60, deadline=None, suppress_health_check=_SHARED)
    @hypothesis.given(
        content=st.binary(max_size=300) | st.binary(max_size=300).map(lambda b: b"PK\x03\x04" + b)
    )
    def test_any_bytes_give_rows_of_text_or_a_typed_error(self, content: bytes) -> None:
        try:
            rows = self.codec.read(content, SheetLimits())
        except TicketDomainError as error:
            assert error.code in ("csv_invalid", "csv_too_large")
        else:
            assert all(isinstance(cell, str) for row in rows for cell in row)
