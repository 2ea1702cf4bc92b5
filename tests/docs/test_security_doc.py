"""``docs/security.md`` states what the code does: its permissions table is the ``rule`` of every
command ``TicketDomain.command_types()`` accepts, and its table of defaults is
``SecurityPolicy()``'s. After changing a rule or a default, regenerate both tables with
``python tests/docs/test_security_doc.py`` and read the diff."""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

import attrs

from ticketdomain import ActorKind, Rule, SecurityPolicy, TicketDomain
from ticketdomain.core.catalog import MAX_CAPACITY, MAX_QUANTITY
from ticketdomain.core.contacts import MAX_NAME
from ticketdomain.core.distribution import MAX_SHEET_BYTES, MAX_SHEET_ROWS
from ticketdomain.core.money import MAX_AMOUNT
from ticketdomain.core.sales import MAX_LINES
from ticketdomain.services import _input
from ticketdomain.services.identity import MAX_PASSWORD_LENGTH

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"

#: what each field of ``SecurityPolicy`` means; a field missing here fails the test
POLICY_FIELDS = {
    "session_lifetime": "a session ends this long after it was opened, however busy",
    "session_idle": "a session ends after this long without a call",
    "touch_interval": "a session's last use is written at most this often",
    "login_link_lifetime": "a link asked for with `RequestLoginLink` works this long",
    "invitation_link_lifetime": (
        "a link in a relay's welcome mail or a member's invitation or transfer mail works this long"
    ),
    "throttle.max_failures": "wrong passwords in a row that lock a credential",
    "throttle.lockout": "how long a locked credential refuses every password",
    "min_password_length": (
        f"the shortest password accepted (the longest: {MAX_PASSWORD_LENGTH} characters)"
    ),
    "member_link": "URL of a member's login link (`{token}` is replaced)",
    "relay_link": "URL of a relay's login link (`{token}` is replaced)",
}


def _begin(name: str) -> str:
    return f"<!-- generated: {name} (python tests/docs/test_security_doc.py) -->"


def _end(name: str) -> str:
    return f"<!-- end of generated: {name} -->"


def _actors(rule: Rule) -> str:
    if rule.public:
        return "anyone, without a token"
    return ", ".join(kind.value for kind in ActorKind if kind in rule.actors)


def permissions_table() -> str:
    rows = ["| command | token of | operator permission |", "|---|---|---|"]
    for command in TicketDomain.command_types():
        rule: Rule = command.rule
        permission = f"`{rule.permission.value}`" if rule.permission is not None else ""
        rows.append(f"| `{command.__name__}` | {_actors(rule)} | {permission} |")
    return "\n".join(rows)


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}s" if unit == "day" and count != 1 else f"{count} {unit}"
    return f"{seconds} s"


def _value(value: object) -> str:
    if isinstance(value, timedelta):
        return _duration(value)
    return f"`{value}`" if isinstance(value, str) else str(value)


def _policy_values(policy: SecurityPolicy) -> dict[str, object]:
    values: dict[str, object] = {}
    for field in attrs.fields(SecurityPolicy):
        value = getattr(policy, field.name)
        if attrs.has(type(value)):
            for inner in attrs.fields(type(value)):
                values[f"{field.name}.{inner.name}"] = getattr(value, inner.name)
        else:
            values[field.name] = value
    return values


def defaults_table() -> str:
    rows = ["| `SecurityPolicy` field | default | meaning |", "|---|---|---|"]
    for name, value in _policy_values(SecurityPolicy()).items():
        rows.append(f"| `{name}` | {_value(value)} | {POLICY_FIELDS.get(name, '?')} |")
    return "\n".join(rows)


TABLES = {"permissions": permissions_table, "defaults": defaults_table}


def _section(text: str, name: str) -> re.Match[str] | None:
    return re.search(rf"{re.escape(_begin(name))}\n(.*?)\n{re.escape(_end(name))}", text, re.S)


def test_the_permissions_table_is_the_rules_of_the_code() -> None:
    found = _section(DOC.read_text(), "permissions")
    assert found is not None, "docs/security.md has lost its generated permissions table"
    assert found.group(1) == permissions_table()


def test_every_command_is_in_the_table_once() -> None:
    found = _section(DOC.read_text(), "permissions")
    assert found is not None
    named = re.findall(r"^\| `(\w+)` \|", found.group(1), re.M)
    assert sorted(named) == sorted(cls.__name__ for cls in TicketDomain.command_types())


def test_the_defaults_table_is_the_security_policy() -> None:
    assert set(_policy_values(SecurityPolicy())) == set(POLICY_FIELDS)
    found = _section(DOC.read_text(), "defaults")
    assert found is not None, "docs/security.md has lost its generated defaults table"
    assert found.group(1) == defaults_table()


def regenerate() -> None:
    text = DOC.read_text()
    for name, table in TABLES.items():
        found = _section(text, name)
        if found is None:
            sys.exit(f"{DOC}: no generated {name} table (add its two marker comments)")
        text = text[: found.start(1)] + table() + text[found.end(1) :]
    DOC.write_text(text)


if __name__ == "__main__":
    regenerate()


def test_the_input_limits_are_those_of_the_code() -> None:
    text = DOC.read_text()
    section = text[text.index("## Input limits") : text.index("## Errors")]
    for name in _input.FIELD_LIMITS:
        assert f"`{name}`" in section, f"the field {name!r} has a limit of its own: document it"
    for number in (
        _input.MAX_TEXT,
        MAX_NAME,
        _input.MAX_EMAIL,
        _input.MAX_PASSWORD,
        _input.MAX_ITEMS,
        MAX_LINES,
        _input.MAX_DURATION.days,
    ):
        assert f"{number}" in section, number
    for number in (MAX_QUANTITY, MAX_CAPACITY, _input.MAX_COUNT, MAX_SHEET_ROWS, int(MAX_AMOUNT)):
        assert f"{number:,}" in section, number
    assert _input.MAX_CONTENT_BYTES == 20 * 1024 * 1024 and "20 MiB" in section
    assert MAX_SHEET_BYTES == 2 * 1024 * 1024 and "2 MiB" in section
    assert f"from {_input.EARLIEST.date()} to before {_input.LATEST.date()}" in section
