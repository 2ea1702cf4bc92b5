"""A progress bar on stderr, written by hand (no dependency): redrawn in place on a terminal,
a plain line now and then otherwise (logs of a scheduler)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

_WIDTH = 30
#: between two plain lines when stderr is not a terminal, in seconds
_PLAIN_INTERVAL = 5.0


class Progress:
    """Counts ``done`` out of ``total`` (``None`` when unknown) for one task, ``label``.

    Nothing is drawn before the first :meth:`advance` or :meth:`finish` (a command refused at
    once prints its one error line and no bar). ``quiet`` draws nothing at all.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        *,
        stream: TextIO | None = None,
        quiet: bool = False,
    ) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self._stream = stream if stream is not None else sys.stderr
        self._quiet = quiet
        self._tty = self._stream.isatty()
        self._last_plain = 0.0
        self._started = False
        self._finished = False

    def advance(self, count: int = 1) -> None:
        self.done += count
        self._draw(final=False)

    def set(self, done: int, total: int | None = None) -> None:
        """For callbacks that report ``(done, total)`` rather than steps."""
        self.done = done
        if total is not None:
            self.total = total
        self._draw(final=False)

    def finish(self) -> None:
        """Draw the last state and end the line (nothing if nothing was ever drawn or done)."""
        if not self._finished and (self._started or self.done):
            self._draw(final=True)
        self._finished = True

    def _text(self) -> str:
        if self.total:
            filled = _WIDTH * min(self.done, self.total) // self.total
            bar = "#" * filled + " " * (_WIDTH - filled)
            return f"{self.label} [{bar}] {self.done}/{self.total}"
        return f"{self.label}: {self.done}"

    def _draw(self, *, final: bool) -> None:
        if self._quiet or self._finished:
            return
        if self._tty:
            self._stream.write("\r" + self._text() + ("\n" if final else ""))
            self._stream.flush()
        else:
            now = time.monotonic()
            if not (final or not self._started or now - self._last_plain >= _PLAIN_INTERVAL):
                return
            self._stream.write(self._text() + "\n")
            self._stream.flush()
            self._last_plain = now
        self._started = True
