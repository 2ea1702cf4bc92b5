"""The filesystem document store on a real directory, beside the in-memory fake it mirrors."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ticketdomain.core.documents import AcceptanceDocument
from ticketdomain.core.errors import ValidationError
from ticketdomain.ports.documents import DocumentStore
from ticketdomain.testing import InMemoryDocumentStore
from ticketdomain.testing import strategies as tds
from ticketdomain_filesystem import FilesystemDocumentStore

PDF = AcceptanceDocument("accord client.pdf", "application/pdf", b"%PDF-1.7\n\x00\xffbinary")
PNG = AcceptanceDocument("scan.png", "image/png", b"\x89PNG\r\n\x1a\nimage")

Factory = Callable[[Path], DocumentStore]
STORES: dict[str, Factory] = {
    "filesystem": FilesystemDocumentStore,
    "in-memory": lambda _: InMemoryDocumentStore(),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> DocumentStore:
    return STORES[request.param](tmp_path / "documents")


def test_a_document_comes_back_byte_for_byte(store: DocumentStore) -> None:
    store.put("order-1.acceptance", PDF)
    assert store.get("order-1.acceptance") == PDF


def test_an_unknown_document_is_none(store: DocumentStore) -> None:
    assert store.get("never-stored") is None


def test_put_replaces_and_delete_removes(store: DocumentStore) -> None:
    store.put("doc-1", PDF)
    store.put("doc-1", PNG)
    assert store.get("doc-1") == PNG
    store.delete("doc-1")
    assert store.get("doc-1") is None
    store.delete("doc-1")  # deleting twice is harmless


def test_documents_are_kept_apart(store: DocumentStore) -> None:
    store.put("a", PDF)
    store.put("a.bin", PNG)
    store.put("a.json", PNG)
    assert store.get("a") == PDF
    store.delete("a.bin")
    assert store.get("a") == PDF


@pytest.mark.parametrize(
    "document_id",
    [
        "",
        ".",
        "..",
        "../outside",
        "../../etc/passwd",
        "/etc/passwd",
        "a/b",
        "a\\b",
        ".hidden",
        "a\x00b",
        "a b",
        "x" * 201,
        "C:evil",
    ],
)
def test_ids_that_could_escape_the_root_are_refused(
    store: DocumentStore, document_id: str, tmp_path: Path
) -> None:
    actions: list[Callable[[], object]] = [
        lambda: store.put(document_id, PDF),
        lambda: store.get(document_id),
        lambda: store.delete(document_id),
    ]
    for action in actions:
        with pytest.raises(ValidationError) as refused:
            action()
        assert refused.value.code == "validation_error"
    assert not (tmp_path / "outside.bin").exists()


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=30)
@given(
    document=tds.document_contents().map(lambda t: AcceptanceDocument("f", t[0], t[1])),
    document_id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,40}", fullmatch=True),
)
def test_any_valid_id_and_content_round_trip(
    tmp_path: Path, document: AcceptanceDocument, document_id: str
) -> None:
    store = FilesystemDocumentStore(tmp_path / "round-trip")
    store.put(document_id, document)
    assert store.get(document_id) == document


def test_files_hold_the_content_and_a_json_sidecar(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    FilesystemDocumentStore(root).put("doc-1", PDF)
    assert sorted(p.name for p in root.iterdir()) == ["doc-1.bin", "doc-1.json"]
    assert (root / "doc-1.bin").read_bytes() == PDF.content
    assert json.loads((root / "doc-1.json").read_text()) == {
        "filename": "accord client.pdf",
        "media_type": "application/pdf",
        "size": len(PDF.content),
    }


def test_documents_survive_a_new_store_on_the_same_root(tmp_path: Path) -> None:
    FilesystemDocumentStore(tmp_path / "documents").put("doc-1", PNG)
    assert FilesystemDocumentStore(tmp_path / "documents").get("doc-1") == PNG


def test_content_without_its_sidecar_is_not_a_document(tmp_path: Path) -> None:
    # a crash between the two writes leaves the content alone: the document is not visible
    root = tmp_path / "documents"
    store = FilesystemDocumentStore(root)
    (root / "doc-1.bin").write_bytes(PDF.content)
    assert store.get("doc-1") is None


def test_a_failed_write_leaves_no_temporary_file_and_the_old_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "documents"
    store = FilesystemDocumentStore(root)
    store.put("doc-1", PDF)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        store.put("doc-1", PNG)
    monkeypatch.undo()
    assert store.get("doc-1") == PDF
    assert sorted(p.name for p in root.iterdir()) == ["doc-1.bin", "doc-1.json"]


def test_a_symlink_planted_in_the_root_is_not_followed(tmp_path: Path) -> None:
    root = tmp_path / "documents"
    store = FilesystemDocumentStore(root)
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"%PDF-secret")
    (root / "doc-1.bin").symlink_to(secret)
    (root / "doc-1.json").write_text('{"filename": "x", "media_type": "application/pdf"}')
    with pytest.raises(ValidationError):
        store.get("doc-1")
