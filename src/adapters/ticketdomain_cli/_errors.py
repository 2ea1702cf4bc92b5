"""How the command line fails: one line on stderr and an exit status per kind of failure."""

from __future__ import annotations

#: the command did what was asked
OK = 0
#: the library refused the command (a ``TicketDomainError``: bad key, unknown id, a rule)
REFUSED = 1
#: the command line itself was wrong (argparse's own status)
USAGE = 2
#: the installation or the settings are wrong: a missing extra, a bad database URL, an
#: unreachable database or mail server, an unwritable output file
CONFIGURATION = 3
#: a bug: something failed that the command line does not know how to explain
INTERNAL = 70
#: stopped with Ctrl-C
INTERRUPTED = 130


class CliError(Exception):
    """A failure the command line explains in one line: ``ticketdomain: <code>: <message>``."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def usage(message: str, code: str = "usage") -> CliError:
    return CliError(code, message, USAGE)


def configuration(code: str, message: str) -> CliError:
    return CliError(code, message, CONFIGURATION)


def missing_extra(module: str, extra: str) -> CliError:
    return configuration(
        "missing_extra",
        f"{module} is not installed: pip install 'ticketdomain[{extra}]' "
        "(or 'ticketdomain[cli]' for every command)",
    )
