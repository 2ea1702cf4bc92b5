"""The shipped ``DocumentRendererContract`` on the fake and on the fpdf2 renderer."""

from __future__ import annotations

from ticketdomain.ports.documents import DocumentRenderer
from ticketdomain.testing.documents import DocumentRendererContract
from ticketdomain.testing.fakes import RecordingDocumentRenderer
from ticketdomain_fpdf import FpdfDocumentRenderer


class TestRecordingDocumentRenderer(DocumentRendererContract):
    def make_renderer(self) -> DocumentRenderer:
        return RecordingDocumentRenderer()


class TestFpdfDocumentRenderer(DocumentRendererContract):
    def make_renderer(self) -> DocumentRenderer:
        return FpdfDocumentRenderer()
