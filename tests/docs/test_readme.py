"""The README's embedding snippet builds a working TicketDomain with the real adapters."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ticketdomain import TicketDomain

README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_embedding_snippet_builds_a_domain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (snippet,) = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    # The ids after this point are placeholders a host fills in; everything before must run.
    setup, _, _ = snippet.partition("session = ")
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(setup, str(README), "exec"), namespace)
    assert isinstance(namespace["domain"], TicketDomain)
    assert os.path.exists(tmp_path / "tickets.sqlite3")
    assert len(snippet.strip().splitlines()) <= 25
