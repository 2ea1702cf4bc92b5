"""The command line's progress bar and argument handling, in process (no subprocess needed)."""

from __future__ import annotations

import io
import os

import pytest

from ticketdomain_cli import build_parser, run
from ticketdomain_cli._progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_bar_is_redrawn_in_place_and_ends_the_line() -> None:
    out = Terminal()
    progress = Progress("tickets", 4, stream=out)
    for _ in range(4):
        progress.advance()
    progress.finish()
    frames = out.getvalue().split("\r")[1:]
    assert frames[0] == "tickets [#######                       ] 1/4"
    assert frames[-1] == "tickets [##############################] 4/4\n"
    assert out.getvalue().count("\n") == 1


def test_elsewhere_the_bar_is_a_few_plain_lines() -> None:
    out = io.StringIO()
    progress = Progress("mail", 1000, stream=out)
    for _ in range(1000):
        progress.advance()
    progress.finish()
    lines = out.getvalue().splitlines()
    # The first step, then (within the interval) only the last state.
    assert lines == [
        "mail [                              ] 1/1000",
        "mail [##############################] 1000/1000",
    ]


def test_nothing_is_drawn_before_the_first_step_nor_when_quiet() -> None:
    untouched, quiet = Terminal(), Terminal()
    Progress("mail", 3, stream=untouched).finish()
    loud = Progress("mail", 3, stream=quiet, quiet=True)
    loud.advance()
    loud.finish()
    assert untouched.getvalue() == quiet.getvalue() == ""


def test_an_unknown_total_is_a_count() -> None:
    out = io.StringIO()
    progress = Progress("mail", stream=out)
    progress.advance(2)
    progress.finish()
    assert out.getvalue().splitlines()[-1] == "mail: 2"


def test_help_says_which_commands_are_host_level() -> None:
    text = " ".join(build_parser().format_help().split())
    assert "Only `db upgrade` and `operator create` act as the host" in text


@pytest.mark.parametrize(
    ("argv", "status", "code"),
    [
        (
            ["outbox", "send", "--api-key", "tdk_x", "--mail-dir", "m", "--smtp-host", "h"],
            2,
            "usage",
        ),
        (["expiries", "run", "--api-key", "tdk_x"], 3, "database_url_missing"),
        (["outbox", "send", "--api-key", "tdk_x"], 3, "mail_transport_missing"),
        (
            ["report", "sales", "--database-url", "sqlite:///x.db", "--from", "yesterday"],
            2,
            "usage",
        ),
        (["tickets", "print", "-o", "x.pdf"], 2, "usage"),
        (["nonsense"], 2, "usage"),
        (
            ["expiries", "run", "--api-key", "k", "--payment-gateway", "no_such:G"],
            3,
            "payment_gateway_invalid",
        ),
        (["expiries", "run", "--limit", "0"], 2, "usage"),
        (
            [
                *("operator", "create", "--institution", "I", "--first-name", "F"),
                *("--last-name", "L", "--email", "e@example.org"),
            ],
            2,
            "usage",
        ),
        (
            ["tickets", "print", "--order", "o", "--session", "s", "-o", "/no/such/dir/t.pdf"],
            3,
            "output_unwritable",
        ),
    ],
)
def test_failures_are_one_line_with_their_status(
    argv: list[str],
    status: int,
    code: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in [name for name in os.environ if name.startswith("TICKETDOMAIN_")]:
        monkeypatch.delenv(name)
    assert run(argv) == status
    err = capsys.readouterr().err
    assert err.startswith(f"ticketdomain: {code}: ") and err.count("\n") == 1, err
