"""The ``ticketdomain`` command line: the composition root wiring the adapters.

``ticketdomain db upgrade``, ``operator create``, ``outbox send`` / ``failed`` / ``requeue``,
``expiries run``, ``tickets print``, ``report sales`` / ``dashboard`` and ``login relay``; see
``ticketdomain --help`` and docs/cli.md. Every failure is one line on stderr,
``ticketdomain: <code>: <message>``, and a non-zero exit status (1 refused by the library,
2 usage, 3 installation or settings).
"""

from ticketdomain_cli._main import build_parser, main, run

__all__ = ["build_parser", "main", "run"]
