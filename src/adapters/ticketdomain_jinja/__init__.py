"""Mail templates: Jinja2 (autoescaped HTML and plain text), formatted per language with Babel.

``JinjaMailTemplates`` is a ``MailTemplates`` (``ticketdomain.ports.mail``): for each
``MailKind`` and each language of ``ticketdomain.core.languages.LANGUAGES`` it has three
templates in its package data, ``templates/<language>/<kind>.subject.txt``, ``<kind>.txt`` and
``<kind>.html`` (the kind's value: ``invitation``, ``credit_note``…), beside shared pieces
(``templates/_layout.html``, ``templates/<language>/_macros.txt`` and ``_macros.html``). A host
overrides any of them by putting a file of the same relative name in its ``overrides``
directory, which is searched first.

HTML templates are autoescaped (a name like ``<script>`` arrives as text); text templates and
subjects are not (they are not HTML). Undefined variables raise (``StrictUndefined``): a
template naming a key its kind's context lacks fails at once, not with a blank.

Filters, formatted for the mail's language with Babel (and ``territory`` when given:
``JinjaMailTemplates(territory="CH")`` writes ``CHF 1'234.50`` in German):

- ``money``: a ``Money`` (``1 234,50 CHF`` in French);
- ``datetime``: an aware datetime as local date and time with the zone's abbreviation
  (``dimanche 10 mai 2026, 20:00 CEST``), in the zone given (``starts_at|datetime(time_zone)``)
  or else the context's ``time_zone``;
- ``date``: the local date alone (long format); ``time``: the local time with the zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_time, get_datetime_format
from babel.numbers import format_currency
from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    pass_context,
)
from jinja2.runtime import Context

from ticketdomain.core.errors import SetupInvalidError
from ticketdomain.core.mail import ComposedMail, MailKind
from ticketdomain.core.money import Money
from ticketdomain.core.timezones import in_zone, zone_label

__all__ = ["TEMPLATES", "JinjaMailTemplates", "template_names"]

#: the templates shipped with the package
TEMPLATES = Path(__file__).parent / "templates"


def template_names(kind: MailKind, language: str) -> tuple[str, str, str]:
    """The subject, text and HTML templates of ``kind`` in ``language`` (relative names, as a
    host's override directory holds them too)."""
    stem = f"{language}/{kind.value}"
    return f"{stem}.subject.txt", f"{stem}.txt", f"{stem}.html"


class JinjaMailTemplates:
    """The ``MailTemplates`` of the package's Jinja2 templates, the host's ``overrides``
    directory first.

    ``territory`` (an ISO 3166 code such as ``"CH"``) refines how numbers, money and dates are
    written (``de_CH`` rather than ``de``) where Babel knows that locale. ``compose`` raises
    ``SetupInvalidError`` (``setup_invalid``, naming the template) for a language without
    templates, a template that does not parse, or one naming a key its context lacks: the
    command queuing the mail is refused and changes nothing.
    """

    def __init__(self, overrides: Path | str | None = None, *, territory: str | None = None):
        folders = ([Path(overrides)] if overrides is not None else []) + [TEMPLATES]
        loader = ChoiceLoader([FileSystemLoader(str(folder)) for folder in folders])
        self.territory = territory
        self._text = _environment(loader, autoescape=False)
        self._html = _environment(loader, autoescape=True)

    def locale(self, language: str) -> str:
        """The Babel locale mail in ``language`` is formatted for."""
        if self.territory is None:
            return language
        candidate = f"{language}_{self.territory.upper()}"
        try:
            Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            return language
        return candidate

    def compose(self, kind: MailKind, language: str, context: Mapping[str, object]) -> ComposedMail:
        """The subject, text and HTML of a mail of ``kind`` in ``language``."""
        names = template_names(kind, language)
        values = {**context, "_locale": self.locale(language), "_language": language}
        rendered: list[str] = []
        for name, environment in zip(names, (self._text, self._text, self._html), strict=True):
            try:
                rendered.append(environment.get_template(name).render(values))
            except TemplateError as exc:
                # A host's override with a typo is a set-up error, refused like any other.
                raise SetupInvalidError(
                    f"The mail template {name!r} cannot be used: {exc}",
                    template=name,
                    error=type(exc).__name__,
                ) from exc
        subject, text, html = rendered
        return ComposedMail(
            # One line: a line break in a subject would be refused by the mailer.
            subject=" ".join(subject.split()),
            text=text.strip() + "\n",
            html=html,
        )


def _environment(loader: ChoiceLoader, *, autoescape: bool) -> Environment:
    environment = Environment(
        loader=loader,
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    filters: dict[str, Callable[..., str]] = {
        "money": _money,
        "datetime": _datetime,
        "date": _date,
        "time": _time,
    }
    environment.filters.update(filters)
    return environment


def _moment(context: Context, value: Any, zone: str | None) -> tuple[datetime, str]:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise TypeError(f"{value!r} is not an aware datetime.")
    return value, zone if zone is not None else str(context["time_zone"])


@pass_context
def _money(context: Context, value: Any) -> str:
    if not isinstance(value, Money):
        raise TypeError(f"{value!r} is not Money.")
    return _format_money(context["_locale"], value.amount, value.currency)


@pass_context
def _date(context: Context, value: Any, zone: str | None = None) -> str:
    return _format_moment(context["_locale"], "date", *_moment(context, value, zone))


@pass_context
def _time(context: Context, value: Any, zone: str | None = None) -> str:
    return _format_moment(context["_locale"], "time", *_moment(context, value, zone))


@pass_context
def _datetime(context: Context, value: Any, zone: str | None = None) -> str:
    return _format_moment(context["_locale"], "datetime", *_moment(context, value, zone))


# Cached: Babel takes tens of microseconds per value, and the mails of one command (an
# import's invitations) repeat the same few performances and prices.
@lru_cache(maxsize=4096)
def _format_money(locale: str, amount: Decimal, currency: str) -> str:
    return format_currency(amount, currency, locale=locale)


@lru_cache(maxsize=4096)
def _format_moment(locale: str, what: str, moment: datetime, zone: str) -> str:
    local = in_zone(moment, zone)
    time = f"{format_time(local, 'short', locale=locale)} {zone_label(local)}"
    if what == "time":
        return time
    if what == "date":
        return format_date(local, "long", locale=locale)
    # The locale's own way of joining a date and a time ("{1}, {0}", "{1} {0}"…).
    joined = str(get_datetime_format("full", locale=locale)).replace("'", "")
    return joined.format(time, format_date(local, "full", locale=locale))
