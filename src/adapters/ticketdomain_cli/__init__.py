"""The `ticketdomain` command line: the composition root wiring the adapters."""


def main() -> None:
    raise SystemExit("ticketdomain: the command line is not built yet")
