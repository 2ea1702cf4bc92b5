"""Acceptance documents are recognised by their content, never by the name given."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.documents import AcceptanceDocument, sniff_media_type
from ticketdomain.core.errors import DocumentTooLargeError, DocumentTypeError
from ticketdomain.testing import strategies as tds

MAX = 4096
FILENAMES = st.one_of(
    st.sampled_from(
        ["accord.pdf", "scan.png", "photo.JPG", "contrat.exe", "noname", "", "../../etc/passwd"]
    ),
    st.text(max_size=120),
)


@given(tds.document_contents(), FILENAMES)
def test_pdf_png_and_jpeg_are_recognised_whatever_the_file_name(
    typed: tuple[str, bytes], filename: str
) -> None:
    media_type, content = typed
    document = AcceptanceDocument.from_upload(filename, content, MAX)
    assert document.media_type == media_type
    assert document.content == content


@given(tds.unrecognised_contents(), FILENAMES)
def test_other_content_is_refused_even_when_named_like_a_pdf(content: bytes, filename: str) -> None:
    assert sniff_media_type(content) is None
    with pytest.raises(DocumentTypeError) as refused:
        AcceptanceDocument.from_upload(filename or "accord.pdf", content, MAX)
    assert refused.value.code == "document_type_unsupported"


@given(tds.document_contents(max_size=64), st.integers(min_value=1, max_value=64))
def test_oversized_documents_are_refused_before_anything_else(
    typed: tuple[str, bytes], excess: int
) -> None:
    _, content = typed
    limit = len(content) - excess
    if limit < 0:
        return
    with pytest.raises(DocumentTooLargeError) as refused:
        AcceptanceDocument.from_upload("accord.pdf", content, limit)
    assert refused.value.code == "document_too_large"
    assert refused.value.details == {"size": len(content), "max_bytes": limit}


def test_a_document_of_exactly_the_limit_is_accepted() -> None:
    content = b"%PDF-1.4\n" + b"x" * 91
    assert AcceptanceDocument.from_upload("a.pdf", content, 100).content == content


def test_bytearray_uploads_are_kept_as_bytes() -> None:
    upload = bytearray(b"\x89PNG\r\n\x1a\nrest")
    document = AcceptanceDocument.from_upload("a.png", upload, MAX)  # type: ignore[arg-type]
    assert type(document.content) is bytes
    assert document.media_type == "image/png"


@pytest.mark.parametrize("content", ["%PDF-1.4", None, 42])
def test_content_must_be_bytes(content: object) -> None:
    with pytest.raises(DocumentTypeError):
        AcceptanceDocument.from_upload("a.pdf", content, MAX)  # type: ignore[arg-type]


@given(FILENAMES)
def test_stored_file_names_are_safe(filename: str) -> None:
    document = AcceptanceDocument.from_upload(filename, b"%PDF-1.7", MAX)
    assert document.filename
    assert len(document.filename) <= 100
    assert "/" not in document.filename and "\\" not in document.filename
    assert all(c.isalnum() or c in "._- " for c in document.filename)


def test_the_content_is_not_dumped_in_reprs() -> None:
    document = AcceptanceDocument.from_upload("a.pdf", b"%PDF-1.7 secret", MAX)
    assert "secret" not in repr(document)
    assert "<15 bytes>" in repr(document)
