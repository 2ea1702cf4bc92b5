"""Helpers for the trust-boundary tests: what storage keeps of credentials and sessions, the
mails waiting in the outbox, and the login links they carry."""

from __future__ import annotations

import re

from support.state import stored
from ticketdomain.core.identity import (
    ActorKind,
    AuthSession,
    Credential,
    CredentialOwner,
    credential_id,
    token_digest,
)
from ticketdomain.core.mail import MailMessage
from ticketdomain.ports.storage import Storage

#: a link as the default ``SecurityPolicy`` templates make it
_LINK = re.compile(r"https://tickets\.invalid/(member|relay)/login\?token=(\S+)")


def credential(storage: Storage, kind: ActorKind, actor_id: str) -> Credential | None:
    """The stored password credential of an operator, a relay or a member."""
    owner = CredentialOwner.OPERATOR if kind is ActorKind.OPERATOR else CredentialOwner.INDIVIDUAL
    with storage.unit_of_work() as uow:
        return uow.credentials.get(credential_id(owner, actor_id))


def stored_session(storage: Storage, token: str) -> AuthSession | None:
    """The session a token opened, as storage keeps it (found by the token's digest)."""
    with storage.unit_of_work() as uow:
        return uow.sessions.find_by_digest(token_digest(token))


def everything_stored(storage: Storage, *, outbox: bool = True) -> str:
    """Every row storage holds, as one text to search for a secret (without the mail outbox,
    whose bodies carry login links until sent, when ``outbox`` is false)."""
    tables = stored(storage)
    assert isinstance(tables, dict)
    if not outbox:
        tables = {name: rows for name, rows in tables.items() if name not in OUTBOX_TABLES}
    return repr(tables)


#: the outbox's name in each storage's dump (``support.state.stored``)
OUTBOX_TABLES = frozenset({"outbox", "td_outbox"})


def queued_mails(storage: Storage, to: str | None = None) -> list[MailMessage]:
    """The unsent mails in the outbox, oldest first (only those to ``to`` when given)."""
    with storage.unit_of_work() as uow:
        pending = [item.message for item in uow.outbox.pending(10_000)]
    if to is None:
        return pending
    return [message for message in pending if message.to.value.lower() == to.lower()]


def links_in(message: MailMessage) -> list[tuple[str, str]]:
    """The login links a mail carries, as (``"member"`` or ``"relay"``, token)."""
    return [(match.group(1), match.group(2)) for match in _LINK.finditer(message.body)]


def link_token(storage: Storage, to: str) -> str:
    """The token of the login link in the latest mail queued for ``to``."""
    mails = [message for message in queued_mails(storage, to) if links_in(message)]
    assert mails, f"no mail with a login link queued for {to}"
    return links_in(mails[-1])[-1][1]


def tampered(token: str) -> str:
    """The token with its last character changed (still well formed)."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")
