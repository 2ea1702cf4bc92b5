"""The spreadsheet codec contract on the library's CSV codec and on the ``.xlsx`` one."""

from ticketdomain.core.spreadsheets import CsvCodec
from ticketdomain.ports.spreadsheets import SpreadsheetCodec
from ticketdomain.testing.spreadsheets import SpreadsheetCodecContract
from ticketdomain_openpyxl import OpenpyxlSpreadsheetCodec


class TestCsvCodec(SpreadsheetCodecContract):
    def make_codec(self) -> SpreadsheetCodec:
        return CsvCodec()


class TestOpenpyxlSpreadsheetCodec(SpreadsheetCodecContract):
    def make_codec(self) -> SpreadsheetCodec:
        return OpenpyxlSpreadsheetCodec()
