"""How a date is written in each language the PDFs print: weekday and month names, patterns.

Shared by the tickets (``_renderer``: the performance's day, with its weekday) and the
invoices, credit notes and reports (``_documents``: a date alone). Hand-written names, not
strftime's %A/%B: those follow the host process's locale. Every letter is in cp1252, so the
built-in PDF fonts print them as they are.
"""

from __future__ import annotations

from datetime import date

import attrs

__all__ = ["DateWords", "date_words", "long_date", "weekday_date"]


@attrs.frozen
class DateWords:
    """One language's names of the days and months and its two ways of writing a date."""

    #: Monday first, as ``date.weekday``
    weekdays: tuple[str, ...]
    months: tuple[str, ...]
    #: a date with its weekday (a ticket's performance), from ``weekday``, ``day``, ``month``
    #: and ``year``
    weekday_pattern: str
    #: a date alone (an invoice's issue and due dates), from ``day``, ``month`` and ``year``
    long_pattern: str

    def weekday_date(self, day: date) -> str:
        return self.weekday_pattern.format(
            weekday=self.weekdays[day.weekday()],
            day=day.day,
            month=self.months[day.month - 1],
            year=day.year,
        )

    def long_date(self, day: date) -> str:
        return self.long_pattern.format(
            day=day.day, month=self.months[day.month - 1], year=day.year
        )


#: by language (``core.languages.LANGUAGES``); any other writes as English
DATE_WORDS = {
    "en": DateWords(
        weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        months=(
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ),
        weekday_pattern="{weekday} {day} {month} {year}",
        long_pattern="{day} {month} {year}",
    ),
    "fr": DateWords(
        weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        months=(
            "janvier",
            "février",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "août",
            "septembre",
            "octobre",
            "novembre",
            "décembre",
        ),
        weekday_pattern="{weekday} {day} {month} {year}",
        long_pattern="{day} {month} {year}",
    ),
    "de": DateWords(
        weekdays=(
            "Montag",
            "Dienstag",
            "Mittwoch",
            "Donnerstag",
            "Freitag",
            "Samstag",
            "Sonntag",
        ),
        months=(
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ),
        weekday_pattern="{weekday}, {day}. {month} {year}",
        long_pattern="{day}. {month} {year}",
    ),
    "it": DateWords(
        weekdays=(
            "lunedì",
            "martedì",
            "mercoledì",
            "giovedì",
            "venerdì",
            "sabato",
            "domenica",
        ),
        months=(
            "gennaio",
            "febbraio",
            "marzo",
            "aprile",
            "maggio",
            "giugno",
            "luglio",
            "agosto",
            "settembre",
            "ottobre",
            "novembre",
            "dicembre",
        ),
        weekday_pattern="{weekday} {day} {month} {year}",
        long_pattern="{day} {month} {year}",
    ),
}
_ENGLISH = DATE_WORDS["en"]


def date_words(language: str) -> DateWords:
    return DATE_WORDS.get(language, _ENGLISH)


def long_date(day: date, language: str) -> str:
    """``day`` as ``language`` writes it alone: "5 March 2026", "5 mars 2026", "5. März 2026",
    "5 marzo 2026" (English for any other language)."""
    return date_words(language).long_date(day)


def weekday_date(day: date, language: str) -> str:
    """``day`` with its weekday: "Wednesday 1 April 2026", "mercredi 1 avril 2026",
    "Mittwoch, 1. April 2026", "mercoledì 1 aprile 2026"."""
    return date_words(language).weekday_date(day)
