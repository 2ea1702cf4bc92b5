"""Acceptance documents stored as files under one root directory.

Each document is two files named after its id: ``<id>.bin`` (the content, byte for byte) and
``<id>.json`` (a small sidecar with the uploaded file name and the media type). Both are written
through a temporary file and ``os.replace``, so a reader never sees half a file; the sidecar is
written last and removed first, so a document is visible only once its content is complete.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import threading
from pathlib import Path

from ticketdomain.core.documents import AcceptanceDocument
from ticketdomain.core.errors import ValidationError

__all__ = ["FilesystemDocumentStore"]

# Letters, digits, dot, underscore and hyphen, starting with a letter or digit: no separator,
# no "..", no hidden file, nothing a path could be made of.
_DOCUMENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
_CONTENT = ".bin"
_SIDECAR = ".json"


class FilesystemDocumentStore:
    """A ``DocumentStore`` keeping documents under ``root`` (created when missing).

    Document ids are 1 to 200 letters, digits, ``.``, ``_`` or ``-`` starting with a letter or a
    digit; any other id (one that could name a path outside ``root``) raises ``ValidationError``.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        # Serializes writers in this process; other processes are safe thanks to os.replace.
        self._lock = threading.Lock()

    def _path(self, document_id: str, suffix: str) -> Path:
        if not isinstance(document_id, str) or not _DOCUMENT_ID.fullmatch(document_id):
            raise ValidationError(
                "A document id is 1 to 200 letters, digits, '.', '_' or '-'.",
                document_id=repr(document_id),
            )
        path = self.root / f"{document_id}{suffix}"
        # Belt and braces: a symlinked root must not let a path resolve elsewhere.
        if path.resolve().parent != self.root.resolve():
            raise ValidationError("This document id escapes the store.", document_id=document_id)
        return path

    def _write(self, path: Path, data: bytes) -> None:
        fd, temporary = tempfile.mkstemp(dir=self.root, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def put(self, document_id: str, document: AcceptanceDocument) -> None:
        content, sidecar = self._path(document_id, _CONTENT), self._path(document_id, _SIDECAR)
        meta = {
            "filename": document.filename,
            "media_type": document.media_type,
            "size": len(document.content),
        }
        with self._lock:
            self._write(content, document.content)
            self._write(sidecar, json.dumps(meta, sort_keys=True).encode("utf-8"))

    def get(self, document_id: str) -> AcceptanceDocument | None:
        content, sidecar = self._path(document_id, _CONTENT), self._path(document_id, _SIDECAR)
        with self._lock:
            try:
                meta = json.loads(sidecar.read_bytes())
                data = content.read_bytes()
            except FileNotFoundError:
                return None
        return AcceptanceDocument(str(meta["filename"]), str(meta["media_type"]), data)

    def delete(self, document_id: str) -> None:
        """Remove the document; deleting an absent document does nothing."""
        content, sidecar = self._path(document_id, _CONTENT), self._path(document_id, _SIDECAR)
        with self._lock:
            for path in (sidecar, content):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
