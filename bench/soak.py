"""The crash test: worker processes killed with SIGKILL at random while they sell, invoice,
distribute, scan and send mail, with every rule of the domain checked after each round.

    python -m bench.soak [--minutes N] [--workers N] [--database sqlite|postgresql ...]

Runs on a SQLite file and, when ``TICKETDOMAIN_TEST_PG_URL`` is set, on a fresh PostgreSQL
schema, both at once for the given minutes (default 3). Prints, per database, the kills, the
operations (accepted, refused, unexpected errors), the mails queued, delivered and resent, and
every violation; exits 1 if any rule was broken or an operation failed unexpectedly. The
harness is ``tests/support/soak.py``, the checker ``tests/support/soak_checks.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from support.soak import SoakReport, Target, postgresql_target, run_soak


def main() -> None:
    parser = argparse.ArgumentParser(description="ticketdomain crash test")
    parser.add_argument("--minutes", type=float, default=3.0, help="how long (default 3)")
    parser.add_argument("--workers", type=int, default=4, help="worker processes per database")
    parser.add_argument(
        "--kill-every", type=float, default=3.0, help="mean seconds between kills (default 3)"
    )
    parser.add_argument("--round", type=float, default=20.0, help="seconds per round")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        action="append",
        help="only these databases (default both)",
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", type=Path, default=None, help="keep the worker logs here")
    args = parser.parse_args()
    databases = args.database or ["sqlite", "postgresql"]
    pg_url = os.environ.get("TICKETDOMAIN_TEST_PG_URL")
    if "postgresql" in databases and not pg_url:
        print("PostgreSQL skipped: set TICKETDOMAIN_TEST_PG_URL to soak it too.", flush=True)
        databases.remove("postgresql")
    reports: list[SoakReport] = []
    failures: list[BaseException] = []

    def soak(name: str, folder: Path) -> None:
        def run(target: Target) -> None:
            reports.append(
                run_soak(
                    target,
                    folder / "logs",
                    seconds=args.minutes * 60,
                    workers=args.workers,
                    round_seconds=args.round,
                    kill_every=args.kill_every,
                    seed=args.seed,
                    log=lambda line: print(line, flush=True),
                )
            )

        try:
            if name == "sqlite":
                run(Target.sqlite(folder / "soak.sqlite3"))
            else:
                assert pg_url is not None
                with postgresql_target(pg_url) as target:
                    run(target)
        except BaseException as error:
            failures.append(error)
            raise

    with tempfile.TemporaryDirectory(prefix="td-soak-") as scratch:
        root = args.keep or Path(scratch)
        threads = [threading.Thread(target=soak, args=(name, root / name)) for name in databases]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    print()
    for report in reports:
        print(report.summary())
    if failures or any(r.violations or r.errors for r in reports):
        sys.exit(1)


if __name__ == "__main__":
    main()
