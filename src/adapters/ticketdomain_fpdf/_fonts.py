"""Unicode fonts for fpdf2 documents, parsed once per process and shared by every document.

fpdf2's ``add_font`` parses the font file with fontTools and walks its whole character map on
every call: a few milliseconds for DejaVu Sans, far more for a CJK font, paid by each document.
Here each face is parsed once per process into a template ``TTFFont``; a document gets a light
copy of it that shares the read-only tables (character map, widths) and has its own per-document
state (subset of glyphs used, object number, descriptor, and a lazily opened fontTools font that
fpdf2's subsetter may cut down at output).

Fallback faces (Arabic, CJK) are registered on a document only when its text needs a glyph the
main face lacks, and text shaping (HarfBuzz) is switched on only for the text that needs it: a
Latin-only document pays for neither, and embeds only the main face.
"""

from __future__ import annotations

import copy
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path
from types import MappingProxyType
from typing import Any

import attrs
from fontTools import ttLib  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.enums import TextEmphasis
from fpdf.fonts import SubsetMap, TTFFont

__all__ = [
    "EMBEDDED_FONTS_DIR",
    "FontDocument",
    "FontFamily",
    "FontSet",
    "needs_shaping",
]

#: the fonts shipped in this package (see ``fonts/README.md`` for their origin and licences)
EMBEDDED_FONTS_DIR = Path(__file__).resolve().parent / "fonts"

_SUFFIXES = (".ttf", ".otf")


def _font_path(path: Path | str) -> Path:
    found = Path(path)
    if not found.is_file():
        raise FileNotFoundError(f"No font file at {str(path)!r}.")
    if found.suffix.lower() not in _SUFFIXES:
        raise ValueError(f"Not a TrueType or OpenType font file: {str(path)!r}.")
    return found.resolve()


def _optional_font_path(path: Path | str | None) -> Path | None:
    return None if path is None else _font_path(path)


@attrs.frozen
class FontFamily:
    """One family of a ``FontSet``: a regular face and, optionally, a bold one.

    Without ``bold`` the regular face prints bold text too (hierarchy then comes from size).
    """

    regular: Path = attrs.field(converter=_font_path)
    bold: Path | None = attrs.field(default=None, converter=_optional_font_path)

    def faces(self) -> tuple[tuple[str, Path], ...]:
        """``(style, path)`` of each face: ``""`` for regular, ``"B"`` for bold."""
        return (("", self.regular),) + ((("B", self.bold),) if self.bold is not None else ())


# --- the process-wide cache of parsed faces ---------------------------------------------------


@attrs.frozen
class _Parsed:
    template: TTFFont
    data: bytes
    #: code points the face has a glyph for
    charset: frozenset[int]
    #: names of the composite glyphs (built from others), whose bytes the subsetter rewrites
    composites: frozenset[str]


_PARSED: dict[tuple[Path, str], _Parsed] = {}
_PARSED_LOCK = threading.Lock()


def _parsed(path: Path, style: str) -> _Parsed:
    key = (path, style)
    found = _PARSED.get(key)
    if found is not None:
        return found
    with _PARSED_LOCK:
        found = _PARSED.get(key)
        if found is None:
            # TTFFont only reads the number of fonts and the colour-font switch off the document.
            try:
                template = TTFFont(FPDF(), path, "template", style)
            except OSError:
                raise
            except Exception as error:  # fontTools' own errors, of many kinds
                raise ValueError(f"Not a usable font file: {str(path)!r} ({error}).") from error
            # Read the large tables once: each document gets copies of them (_shared_tables).
            composites: frozenset[str] = frozenset()
            for tag in _SHARED_TABLES:
                if tag in template.ttfont:
                    table = template.ttfont[tag]
                    if tag == "glyf":
                        composites = frozenset(
                            name
                            for name, glyph in table.glyphs.items()
                            # A negative contour count (first byte's high bit) marks them.
                            if getattr(glyph, "data", b"")[:1] >= b"\x80"
                        )
            found = _Parsed(template, path.read_bytes(), frozenset(template.cmap), composites)
            _PARSED[key] = found
    return found


def _document_face(parsed: _Parsed, pdf: FPDF, fontkey: str) -> TTFFont:
    """A face for ``pdf`` sharing the parsed tables of ``parsed`` (no fontTools parse)."""
    face = copy.copy(parsed.template)
    face.i = len(pdf.fonts) + 1
    face.fontkey = fontkey
    # fpdf2's subsetter cuts the fontTools font down in place at output: each document gets its
    # own, opened lazily from the bytes in memory (only the table directory is read here).
    # Glyph outlines are copied as they are (no bounding boxes recomputed: subsetting keeps them).
    face.ttfont = ttLib.TTFont(
        BytesIO(parsed.data), recalcTimestamp=False, recalcBBoxes=False, lazy=True
    )
    # Shaping and subsetting ask for glyph names: without this, fontTools rebuilds them from the
    # character map on each document (a tenth of a second for a CJK font without glyph names).
    face.ttfont.setGlyphOrder(list(parsed.template.ttfont.getGlyphOrder()))
    _share_tables(parsed, face.ttfont)
    # The descriptor gets the document's object number and embedded file at output.
    face.desc = copy.copy(parsed.template.desc)
    face.missing_glyphs = []
    face.biggest_size_pt = 0
    # HarfBuzz fonts carry the size of the last shaping: one per document, opened when needed.
    face._hbfont = None
    face.color_font = None
    face.subset = SubsetMap(face)
    return face


#: tables read once per process and copied to each document: the ones whose size grows with
#: the number of glyphs (30,000 in the CJK face), which fontTools would read again per document
_SHARED_TABLES = ("glyf", "hmtx", "cmap")


class _GlyphView(Mapping[str, Any]):
    """The template's glyphs, read-only, as a document's glyph table sees them.

    The subsetter only reads this mapping, then replaces it with a dictionary of the glyphs
    kept, whose composite glyphs it rewrites in place: composites are therefore handed out as
    fresh copies, simple glyphs as they are (nothing changes them).
    """

    __slots__ = ("_composites", "_glyphs")

    def __init__(self, glyphs: Mapping[str, Any], composites: frozenset[str]) -> None:
        self._glyphs = glyphs
        self._composites = composites

    def __getitem__(self, name: str) -> Any:
        glyph = self._glyphs[name]
        if name in self._composites:
            return type(glyph)(glyph.data)
        return glyph

    def __iter__(self) -> Iterator[str]:
        return iter(self._glyphs)

    def __len__(self) -> int:
        return len(self._glyphs)


def _share_tables(parsed: _Parsed, font: Any) -> None:
    """Give ``font`` the template's decoded large tables, behind read-only views: fpdf2's
    subsetter replaces their glyph dictionaries and character maps with subsets (never changes
    them in place; a write would fail loudly on the views)."""
    source = parsed.template.ttfont
    if "glyf" in source.tables:
        template = source.tables["glyf"]
        glyf = copy.copy(template)
        glyf.glyphs = _GlyphView(template.glyphs, parsed.composites)
        glyf.glyphOrder = list(template.glyphOrder)
        font.tables["glyf"] = glyf
        # Rebuilt by glyf at output: the original offsets are never read.
        font.tables["loca"] = ttLib.newTable("loca")
    if "hmtx" in source.tables:
        hmtx = copy.copy(source.tables["hmtx"])
        hmtx.metrics = MappingProxyType(hmtx.metrics)
        font.tables["hmtx"] = hmtx
    if "cmap" in source.tables:
        cmap = copy.copy(source.tables["cmap"])
        cmap.tables = [copy.copy(subtable) for subtable in cmap.tables]
        for subtable in cmap.tables:
            subtable.cmap = MappingProxyType(subtable.cmap)
        font.tables["cmap"] = cmap


def _install_face(pdf: FPDF, name: str, style: str, path: Path) -> str:
    """Register one face on ``pdf`` (once) under fpdf2's key for ``name`` and ``style``."""
    fontkey = f"{name.lower()}{style}"
    if fontkey not in pdf.fonts:
        pdf.fonts[fontkey] = _document_face(_parsed(path, style), pdf, fontkey)
    return fontkey


def _install_family(pdf: FPDF, family: FontFamily, name: str) -> None:
    for style, path in family.faces():
        _install_face(pdf, name, style, path)


# --- scripts ------------------------------------------------------------------------------------

# Scripts whose letters change shape or order with their neighbours (right-to-left, Indic, ...).
_COMPLEX_RANGES = (
    (0x0590, 0x08FF),  # Hebrew, Arabic, Syriac, Thaana, NKo, Samaritan, Mandaic
    (0x0900, 0x0DFF),  # Indic scripts
    (0x0E00, 0x0FFF),  # Thai, Lao, Tibetan
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x200C, 0x200F),  # joiners and direction marks
    (0x202A, 0x202E),  # direction embeddings
    (0xFB1D, 0xFDFF),  # Hebrew and Arabic presentation forms
    (0xFE70, 0xFEFF),  # Arabic presentation forms B
)


@lru_cache(maxsize=4096)
def _char_needs_shaping(char: str) -> bool:
    code = ord(char)
    if any(low <= code <= high for low, high in _COMPLEX_RANGES):
        return True
    # Combining marks (as in decomposed accents) are placed by the shaper.
    return unicodedata.combining(char) != 0


def needs_shaping(text: str) -> bool:
    """Whether ``text`` needs HarfBuzz shaping to print right (Arabic, Hebrew, Indic, marks)."""
    return not text.isascii() and any(_char_needs_shaping(char) for char in text)


# --- the public font set ------------------------------------------------------------------------


@attrs.frozen(eq=False)
class FontSet:
    """The fonts a document prints with: a main family, then fallbacks for scripts it lacks.

    ``FontSet.embedded()`` is the default shipped in this package: DejaVu Sans (Latin, Greek,
    Cyrillic; regular and bold), then as fallbacks Noto Sans Arabic (regular and bold), the rest
    of DejaVu Sans (Hebrew, Armenian, Georgian, symbols) and Droid Sans Fallback (Chinese,
    Japanese, Korean). A host may give its own TrueType/OpenType files; each face is parsed once per
    process, whatever the number of ``FontSet`` objects or documents using it.

    Raises ``FileNotFoundError`` for a missing file and ``ValueError`` for a file that is not a
    readable ``.ttf``/``.otf`` font: a broken main font file fails here, at the host's set-up,
    not in a render (a broken fallback file, when a character first needs it).
    """

    main: FontFamily
    fallbacks: tuple[FontFamily, ...] = ()
    #: the family name given to fpdf2's ``set_font`` (fallbacks are named after it)
    family: str = "ticketdomain"

    def __attrs_post_init__(self) -> None:
        # Parse the main faces now: a broken file fails the host's set-up, not every render.
        for _, path in self.main.faces():
            _parsed(path, "")

    @classmethod
    def of(
        cls,
        regular: Path | str,
        *,
        bold: Path | str | None = None,
        fallbacks: Iterable[FontFamily | Path | str] = (),
    ) -> FontSet:
        """A font set from file paths: the main face(s), then fallback files or families."""
        return cls(
            FontFamily(regular, bold),
            tuple(f if isinstance(f, FontFamily) else FontFamily(f) for f in fallbacks),
        )

    @classmethod
    def embedded(cls) -> FontSet:
        """The fonts shipped in this package (the same object on every call)."""
        return _embedded()

    @property
    def charset(self) -> frozenset[int]:
        """Code points the main family's regular face has a glyph for."""
        return _parsed(self.main.regular, "").charset

    def covers(self, text: str) -> bool:
        """Whether the main family prints every character of ``text`` (no fallback needed)."""
        if text.isascii():
            return _ascii_covered(self.main.regular)
        charset = self.charset
        return all(ord(char) in charset or char.isspace() for char in text)

    def fallback_names(self) -> tuple[str, ...]:
        """The fpdf2 family names of the fallbacks, in order."""
        return tuple(f"{self.family}-fallback{index}" for index in range(len(self.fallbacks)))

    def install(self, pdf: FPDF) -> None:
        """Set these fonts up on a plain ``FPDF``: the main family as ``self.family``, every
        fallback (each embedded, used or not), and text shaping on for every text.

        Prefer ``FontDocument``, which registers faces and shapes text only when needed.
        """
        _install_family(pdf, self.main, self.family)
        self.install_fallbacks(pdf)
        pdf.set_text_shaping(True)

    def install_fallbacks(self, pdf: FPDF) -> None:
        """Register every fallback family on ``pdf`` and name them as fpdf2's fallback fonts."""
        names = self.fallback_names()
        for family, name in zip(self.fallbacks, names, strict=True):
            _install_family(pdf, family, name)
        if names:
            # Bold text falls back to a regular face when the fallback has no bold.
            pdf.set_fallback_fonts(list(names), exact_match=False)


@cache
def _ascii_covered(path: Path) -> bool:
    charset = _parsed(path, "").charset
    return all(code in charset for code in range(0x20, 0x7F))


@lru_cache(maxsize=1)
def _embedded() -> FontSet:
    here = EMBEDDED_FONTS_DIR
    return FontSet(
        FontFamily(here / "DejaVuSans.ttf", here / "DejaVuSans-Bold.ttf"),
        (
            FontFamily(here / "NotoSansArabic-Regular.ttf", here / "NotoSansArabic-Bold.ttf"),
            # The rest of DejaVu Sans (Hebrew, Armenian, Georgian, symbols), before the CJK face.
            FontFamily(here / "DejaVuSansExtra.ttf"),
            FontFamily(here / "DroidSansFallback.ttf"),
        ),
    )


class FontDocument(FPDF):
    """An ``FPDF`` document printing with a ``FontSet`` (by default the embedded fonts).

    Use it as an ``FPDF``; ``set_font(document.font_set.family, style, size)`` selects the main
    family (``""`` or ``"B"``; bold prints regular when the family has no bold face). Faces are
    registered on first use only, so a document embeds only the faces it prints with: the bold
    face at the first bold ``set_font``, a fallback face the first time a character needs it.
    HarfBuzz shaping is switched on for the text that needs it (Arabic, Hebrew, Indic, combining
    marks) and off for the rest, which keeps Latin text on fpdf2's fast path.
    """

    def __init__(self, *args: Any, fonts: FontSet | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the fonts this document prints with (``fonts`` is fpdf2's own registry of faces)
        self.font_set = fonts if fonts is not None else FontSet.embedded()
        self._family_key = self.font_set.family.lower()
        self._fallbacks_on = False
        # Bold text falls back to a regular face when the fallback has no bold.
        self._fallback_font_exact_match = False

    def set_font(
        self, family: str | None = None, style: str | TextEmphasis = "", size: float = 0
    ) -> None:
        if style == "" and family is not None and family.lower() in self.fonts:
            pass  # the regular face of a registered family (the common case): nothing to do
        elif family is not None and family.lower() == self._family_key:
            letters = style.style if isinstance(style, TextEmphasis) else style.upper()
            main = self.font_set.main
            if "B" in letters and main.bold is not None:
                _install_face(self, family, "B", main.bold)
            else:
                style = letters.replace("B", "")
                _install_face(self, family, "", main.regular)
        super().set_font(family, style, size)

    def normalize_text(self, text: str) -> str:
        if self.is_ttf_font and not text.isascii():
            if not self._fallbacks_on and not self.font_set.covers(text):
                self._fallbacks_on = True
                # Named now, registered by get_fallback_font when a character picks one.
                self._fallback_font_ids = [
                    f"{name.lower()}{style}"
                    for name in self.font_set.fallback_names()
                    for style in ("", "B")
                ]
            shaping = needs_shaping(text)
            if shaping != bool(self.text_shaping):
                self.set_text_shaping(shaping)
        elif self.text_shaping:
            self.set_text_shaping(False)
        return super().normalize_text(text)

    def get_fallback_font(self, char: str, style: str = "") -> str | None:
        code = ord(char)
        bold = "B" in style
        for family, name in zip(
            self.font_set.fallbacks, self.font_set.fallback_names(), strict=True
        ):
            if code in _parsed(family.regular, "").charset:
                if bold and family.bold is not None:
                    return _install_face(self, name, "B", family.bold)
                return _install_face(self, name, "", family.regular)
        return None
