"""The languages mail is written in: a contact's, else its organization's."""

from __future__ import annotations

from ticketdomain.core.errors import LanguageUnsupportedError

#: ISO 639-1 codes of the languages every mail template exists in
LANGUAGES: tuple[str, ...] = ("fr", "de", "it", "en")
#: the language of an organization that names none
DEFAULT_LANGUAGE = "en"


def check_language(value: object) -> str:
    """``value`` as a supported language code (``"FR"`` and ``" fr "`` give ``"fr"``).

    Raises ``LanguageUnsupportedError`` for anything else.
    """
    if not isinstance(value, str) or value.strip().lower() not in LANGUAGES:
        raise LanguageUnsupportedError(
            f"{value!r} is not a supported language ({', '.join(LANGUAGES)}).",
            language=repr(value) if not isinstance(value, str) else value[:20],
            supported=list(LANGUAGES),
        )
    return value.strip().lower()


def check_optional_language(value: object) -> str | None:
    """``check_language`` for a language that may be left out (``None``)."""
    return None if value is None else check_language(value)
