"""A short crash test: worker processes killed with SIGKILL at random while they sell, invoice,
distribute, scan and send mail, and no rule of the domain broken (``make soak`` runs the long
one). On a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from support.race import PG_URL
from support.soak import SoakReport, Target, postgresql_target, run_soak
from ticketdomain.core.mail import DeliveryPolicy

#: a lease short enough that what a killed dispatcher claimed comes back within the drain
SHORT = DeliveryPolicy(
    first_retry=timedelta(seconds=1), cap=timedelta(seconds=2), lease=timedelta(seconds=4), batch=3
)


def soak(target: Target, folder: Path) -> SoakReport:
    return run_soak(
        target,
        folder,
        seconds=9,
        workers=3,
        round_seconds=3,
        kill_every=1.2,
        drain_seconds=20,
        delivery=SHORT,
        seed=8,
    )


def assert_sound(report: SoakReport) -> None:
    summary = report.summary()
    assert report.violations == [], summary
    assert report.errors == {}, summary
    assert report.kills >= 3, summary
    assert report.rounds >= 3, summary
    accepted = sum(n for key, n in report.operations.items() if key.endswith(" ok"))
    assert accepted >= 20, summary
    assert report.mails_delivered == report.mails_queued > 0, summary


def test_killed_workers_break_no_rule_on_sqlite(tmp_path: Path) -> None:
    assert_sound(soak(Target.sqlite(tmp_path / "soak.sqlite3"), tmp_path / "logs"))


@pytest.mark.postgresql
def test_killed_workers_break_no_rule_on_postgresql(tmp_path: Path) -> None:
    if not PG_URL:
        pytest.skip("set TICKETDOMAIN_TEST_PG_URL to run the PostgreSQL crash test")
    with postgresql_target(PG_URL) as target:
        assert_sound(soak(target, tmp_path / "logs"))
