"""Join PDFs written by fpdf2 into one file on a stream, a part at a time, in bounded memory.

fpdf2 holds every page of a document in memory until ``output()``. A batch of 10,000 tickets is
therefore rendered as parts of a few hundred pages, each a complete fpdf2 PDF; ``PdfJoiner``
copies each part's objects to the stream as it comes (renumbered, its page tree and catalog
dropped), and writes one page tree, catalog, information dictionary and cross-reference table at
the end. What stays in memory between parts: one offset per object and one number per page.

It reads only what fpdf2 writes (classic cross-reference table, no object streams, indirect
objects ``N 0 obj``), which is all it is given here; it is not a general PDF parser.
"""

from __future__ import annotations

import hashlib
import re
from array import array
from typing import BinaryIO

__all__ = ["PdfJoiner"]

_XREF_AT = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref", re.DOTALL)
_REF = re.compile(rb"(\d+) 0 R\b")
_OBJ_HEAD = re.compile(rb"(\d+) 0 obj\s*")
_VERSION = re.compile(rb"%PDF-(\d\.\d)")
_XREF_HEAD = re.compile(rb"xref\s+(\d+) (\d+)\s*\n")
_LENGTH = re.compile(rb"/Length (\d+)")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")
_MEDIABOX = re.compile(rb"/MediaBox\s*\[[^\]]*\]")


class PdfJoiner:
    """Writes parts (complete PDFs from fpdf2) to ``stream`` as one PDF; ``close()`` ends it.

    The information dictionary (title, creation date) and the page size come from the first part;
    the file identifier is a digest of what was written, so the same parts give the same bytes.
    """

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._position = 0
        self._digest = hashlib.md5(usedforsecurity=False)
        #: offsets of objects 1.. (1: page tree, 2: catalog, 3: information; written last)
        # Machine integers, 8 bytes each: 60,000 objects for 10,000 tickets stay under 0.5 MB.
        self._offsets = array("q", [0, 0, 0])
        self._pages = array("q")
        self._version = b"1.3"
        self._media_box = b""
        self._info = b""
        self._started = False

    @property
    def page_count(self) -> int:
        return len(self._pages)

    def _write(self, data: bytes) -> None:
        self._stream.write(data)
        self._digest.update(data)
        self._position += len(data)

    def add(self, part: bytes) -> None:
        """Copy the pages of ``part`` (one complete fpdf2 PDF) after those already written."""
        objects = _objects(part)
        trailer = _TRAILER.search(part)
        if trailer is None:
            raise ValueError("Not a PDF written by fpdf2: no trailer.")
        root = _ref(trailer.group(1), b"/Root")
        info = _ref(trailer.group(1), b"/Info")
        catalog = objects[root]
        tree = objects[_ref(catalog, b"/Pages")]
        listed = _KIDS.search(tree)
        if listed is None:
            raise ValueError("Not a PDF written by fpdf2: a page tree without /Kids.")
        kids = [int(n) for n in _REF.findall(listed.group(1))]
        version = _VERSION.match(part)
        if version is not None and version.group(1) > self._version:
            self._version = version.group(1)
        if not self._started:
            self._started = True
            self._write(b"%PDF-1.3\n%\xe9\xeb\xf1\xbf\n")
            media_box = _MEDIABOX.search(tree)
            self._media_box = media_box.group(0) if media_box else b""
            self._info = objects[info]
        # The part's page tree becomes the joined one (object 1); its catalog and info are dropped.
        numbers = {_ref(catalog, b"/Pages"): 1}
        for number in sorted(objects):
            if number in (root, info) or number in numbers:
                continue
            self._offsets.append(0)
            numbers[number] = len(self._offsets)

        def renumber(match: re.Match[bytes]) -> bytes:
            return b"%d 0 R" % numbers[int(match.group(1))]

        for number in sorted(objects):
            new = numbers.get(number)
            if new is None or new == 1:
                continue
            body = objects[number]
            # References live in the dictionary; a stream's bytes are copied untouched.
            split = body.find(b"stream")
            head, tail = (body, b"") if split < 0 else (body[:split], body[split:])
            self._offsets[new - 1] = self._position
            self._write(b"%d 0 obj\n" % new + _REF.sub(renumber, head) + tail + b"\nendobj\n")
        self._pages.extend(numbers[kid] for kid in kids)

    def close(self) -> None:
        """Write the page tree, catalog, information and cross-reference table."""
        if not self._pages:
            raise ValueError("No page was added.")
        kids = b" ".join(b"%d 0 R" % page for page in self._pages)
        version = b"" if self._version == b"1.3" else b"\n/Version /" + self._version
        tail = (
            (
                1,
                b"<<\n/Count %d\n/Kids [%s]\n%s\n/Type /Pages\n>>"
                % (len(self._pages), kids, self._media_box),
            ),
            (2, b"<<\n/Pages 1 0 R\n/Type /Catalog%s\n>>" % version),
            (3, self._info),
        )
        for number, body in tail:
            self._offsets[number - 1] = self._position
            self._write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
        xref_at = self._position
        self._write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(self._offsets) + 1))
        # A thousand entries at a time: the table of a large batch is never whole in memory.
        for start in range(0, len(self._offsets), 1000):
            self._write(
                b"".join(
                    b"%010d 00000 n \n" % offset for offset in self._offsets[start : start + 1000]
                )
            )
        identifier = self._digest.hexdigest().upper().encode()
        self._write(
            b"trailer\n<<\n/Size %d\n/Root 2 0 R\n/Info 3 0 R\n/ID [<%s><%s>]\n>>\n"
            % (len(self._offsets) + 1, identifier, identifier)
            + b"startxref\n%d\n%%%%EOF\n" % xref_at
        )


def _ref(dictionary: bytes, key: bytes) -> int:
    found = re.search(re.escape(key) + rb"\s+(\d+) 0 R", dictionary)
    if found is None:
        raise ValueError(f"Not a PDF written by fpdf2: no {key.decode()} reference.")
    return int(found.group(1))


def _objects(part: bytes) -> dict[int, bytes]:
    """Each indirect object's body (between ``N 0 obj`` and ``endobj``), by number."""
    at = _XREF_AT.search(part)
    if at is None:
        raise ValueError("Not a PDF written by fpdf2: no startxref.")
    section = _XREF_HEAD.match(part, int(at.group(1)))
    if section is None:
        raise ValueError("Not a PDF written by fpdf2: no cross-reference table.")
    first, count = int(section.group(1)), int(section.group(2))
    objects: dict[int, bytes] = {}
    for index in range(count):
        entry = part[section.end() + 20 * index : section.end() + 20 * index + 18]
        offset, _, kind = entry.partition(b" 00000 ")
        if kind != b"n":
            continue
        number = first + index
        head = _OBJ_HEAD.match(part, int(offset))
        if head is None or int(head.group(1)) != number:
            raise ValueError(f"Not a PDF written by fpdf2: object {number} is not at its offset.")
        start = head.end()
        end = part.find(b"endobj", start)
        stream = part.find(b"stream\n", start, end)
        if stream >= 0:
            # Skip the stream's bytes by their length: they may hold anything, "endobj" too.
            length = _LENGTH.search(part, start, stream)
            if length is None:
                raise ValueError(f"Not a PDF written by fpdf2: object {number} has no /Length.")
            end = part.find(b"endobj", stream + len(b"stream\n") + int(length.group(1)))
        objects[number] = part[start:end].rstrip(b"\n")
    return objects
