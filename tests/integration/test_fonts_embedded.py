"""The fonts shipped in ticketdomain_fpdf: every script prints with no system font, each face is
parsed once per process whatever the number of documents, and a document embeds only the faces
its text needed."""

from __future__ import annotations

import re
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from io import BytesIO
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pypdf
import pytest
from fpdf import FPDF
from fpdf.fonts import TTFFont

from ticketdomain.core.money import Money
from ticketdomain.core.printing import PrintableTicket
from ticketdomain_fpdf import (
    DEFAULT_CREATION_DATE,
    FontDocument,
    FontFamily,
    FontSet,
    FpdfTicketRenderer,
)
from ticketdomain_fpdf import _fonts as fonts_module
from ticketdomain_fpdf._fonts import EMBEDDED_FONTS_DIR, needs_shaping

SCRIPTS = (
    "Łukasz",
    "Straße",
    "Ελένη",
    "Анна",
    "محمد",
    "王小明",
    "Zoë",
    "はなこ",
    "김민준",
    "שרה",  # Hebrew, from the rest of DejaVu Sans
    "Նարե",  # Armenian
)


def ticket(number: int, beneficiary: str) -> PrintableTicket:
    return PrintableTicket(
        ticket_id=f"tkt_{number}",
        barcode=f"TD{number:08d}K7Q2M9XWABCDEF",
        organization="Opéra de Lyon",
        activity="La Traviata",
        performance_starts_at=datetime(2025, 6, 14, 20, 30, tzinfo=ZoneInfo("Europe/Paris")),
        venue="Grande salle",
        product="Orchestre",
        tariff="Plein tarif",
        price=Money(Decimal("45.5"), "EUR"),
        order_id="ord_42",
        beneficiary=beneficiary,
    )


def embedded_faces(pdf: bytes) -> list[str]:
    """The names of the fonts a PDF embeds (subset prefix dropped), sorted."""
    return sorted({name.decode() for name in re.findall(rb"/FontName /[A-Z]{6}\+([\w-]+)", pdf)})


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(pdf)).pages)


def document(fonts: FontSet | None, *texts: str, bold: bool = False) -> bytes:
    pdf = FontDocument(unit="mm", format="A4", fonts=fonts)
    pdf.set_compression(False)
    pdf.set_creation_date(DEFAULT_CREATION_DATE)
    pdf.add_page()
    pdf.set_font(pdf.font_set.family, "B" if bold else "", 12)
    for text in texts:
        pdf.cell(text=text, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def test_the_package_ships_its_fonts_small_and_with_their_licences() -> None:
    files = sorted(path.name for path in EMBEDDED_FONTS_DIR.iterdir())
    faces = [name for name in files if name.endswith(".ttf")]
    assert faces == [
        "DejaVuSans-Bold.ttf",
        "DejaVuSans.ttf",
        "DejaVuSansExtra.ttf",
        "DroidSansFallback.ttf",
        "NotoSansArabic-Bold.ttf",
        "NotoSansArabic-Regular.ttf",
    ]
    assert sum((EMBEDDED_FONTS_DIR / name).stat().st_size for name in files) < 8_000_000
    readme = (EMBEDDED_FONTS_DIR / "README.md").read_text()
    for licence in (
        "LICENSE-DejaVu.txt",
        "OFL-NotoSansArabic.txt",
        "LICENSE-Apache-2.0-DroidSansFallback.txt",
    ):
        assert licence in files
        assert licence in readme
    for face in faces:
        assert face in readme


def test_every_script_prints_with_the_embedded_fonts() -> None:
    pdf = document(None, *SCRIPTS)
    text = text_of(pdf)
    for name in SCRIPTS:
        assert name in text, name


def test_a_latin_document_embeds_the_main_face_only() -> None:
    pdf = document(None, "Łukasz Straße Ελένη Анна")
    assert embedded_faces(pdf) == ["DejaVuSansBook"]
    assert embedded_faces(document(None, "Łukasz", bold=True)) == ["DejaVuSansBold"]


def test_fallback_faces_are_embedded_when_a_letter_needs_them() -> None:
    assert embedded_faces(document(None, "Ada 王小明")) == ["DejaVuSansBook", "DroidSansFallback"]
    arabic = document(None, "محمد")
    assert embedded_faces(arabic) == ["DejaVuSansBook", "NotoSansArabic"]
    assert embedded_faces(document(None, "שרה")) == ["DejaVuSansBook", "DejaVuSansExtraBook"]
    # Shaped: the joined forms map back to the letters typed.
    assert "محمد" in text_of(arabic)


def test_shaping_is_asked_for_the_scripts_that_need_it() -> None:
    assert needs_shaping("محمد")
    assert needs_shaping("e\u0301")  # a combining accent
    assert not needs_shaping("Łukasz Straße Ελένη Анна 王小明")


def test_each_face_is_parsed_once_per_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Copies under new paths: faces no test has loaded yet in this process.
    for name in ("DejaVuSans.ttf", "DroidSansFallback.ttf"):
        shutil.copy(EMBEDDED_FONTS_DIR / name, tmp_path / name)
    parsed: list[str] = []

    class CountingTTFFont(TTFFont):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            parsed.append(Path(str(args[1])).name)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(fonts_module, "TTFFont", CountingTTFFont)
    fonts = FontSet.of(tmp_path / "DejaVuSans.ttf", fallbacks=[tmp_path / "DroidSansFallback.ttf"])
    assert parsed == ["DejaVuSans.ttf"]  # the main face, at the host's set-up
    renderer = FpdfTicketRenderer(fonts=fonts)
    for number in range(3):
        pdf = renderer.render([ticket(number, "王小明"), ticket(number + 10, "Ada Lovelace")])
        assert "王小明" in text_of(pdf)
    # Three documents, each with both faces: each parsed once, the CJK face at first need.
    assert parsed == ["DejaVuSans.ttf", "DroidSansFallback.ttf"]
    # fpdf2's own add_font would have parsed both faces for each document.
    assert FontSet.of(tmp_path / "DejaVuSans.ttf") is not fonts
    assert parsed == ["DejaVuSans.ttf", "DroidSansFallback.ttf"]


def test_documents_sharing_parsed_faces_stay_independent() -> None:
    # The parsed tables are shared; each document's subset is its own.
    # Accented letters are composite glyphs, whose bytes the subsetter renumbers per document.
    first = document(None, "Zoë Ñúñez ŁŻŚ 王小明 محمد")
    second = document(None, "Ada Ærø Łódź ǅ Ếố 張偉 علي")
    assert document(None, "Zoë Ñúñez ŁŻŚ 王小明 محمد") == first
    assert "Zoë Ñúñez ŁŻŚ 王小明" in text_of(first)
    assert "Ada Ærø Łódź ǅ Ếố 張偉" in text_of(second)
    assert len(document(None, "Ada")) < len(first)


def test_a_host_gives_its_own_fonts(tmp_path: Path) -> None:
    regular = tmp_path / "HostSans.ttf"
    shutil.copy(EMBEDDED_FONTS_DIR / "DejaVuSans-Bold.ttf", regular)
    fonts = FontSet(
        FontFamily(regular),
        (FontFamily(EMBEDDED_FONTS_DIR / "DroidSansFallback.ttf"),),
        family="host",
    )
    pdf = document(fonts, "Ελένη 王小明", bold=True)  # no bold face: the regular one prints it
    assert embedded_faces(pdf) == ["DejaVuSansBold", "DroidSansFallback"]
    assert "Ελένη 王小明" in text_of(pdf)


def test_a_missing_or_unusable_font_file_is_refused_at_set_up(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        FontSet.of(tmp_path / "absent.ttf")
    (tmp_path / "notes.txt").write_text("not a font")
    with pytest.raises(ValueError, match="TrueType"):
        FontSet.of(tmp_path / "notes.txt")
    (tmp_path / "broken.ttf").write_bytes(b"not a font either")
    with pytest.raises(ValueError, match="Not a usable font file"):
        FontSet.of(tmp_path / "broken.ttf")


def test_a_plain_fpdf_document_can_install_the_fonts() -> None:
    fonts = FontSet.embedded()
    pdf = FPDF()
    fonts.install(pdf)
    pdf.add_page()
    pdf.set_font(fonts.family, "", 12)
    pdf.cell(text="Łukasz محمد 王小明")
    text = text_of(bytes(pdf.output()))
    assert "Łukasz" in text
    assert "王小明" in text


def test_threads_rendering_at_once_share_the_parsed_faces_safely() -> None:
    # A host serving requests on threads: the same bytes as one at a time.
    texts = [f"{name} {number}" for number in range(3) for name in SCRIPTS]
    alone = [document(None, text) for text in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        together = list(pool.map(lambda text: document(None, text), texts))
    assert together == alone
