"""docs/cli.md names every setting, option and failure code the command line has."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ticketdomain_cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "cli.md").read_text()
SOURCE = "\n".join(
    path.read_text() for path in sorted((ROOT / "src/adapters/ticketdomain_cli").glob("*.py"))
)


def _options(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        found.update(option for option in action.option_strings if option.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_every_environment_variable_is_documented() -> None:
    names = set(re.findall(r'"(TICKETDOMAIN_[A-Z_]+)"', SOURCE))
    assert names and {name for name in names if name not in DOC} == set()


def test_every_failure_code_is_documented() -> None:
    codes = set(re.findall(r'(?:configuration|CliError)\(\s*"([a-z_]+)"', SOURCE))
    codes |= set(re.findall(r'code="([a-z_]+)"', SOURCE))
    assert codes and {code for code in codes if f"`{code}`" not in DOC} == set()


def test_every_option_in_the_doc_exists() -> None:
    documented = set(re.findall(r"`(--[a-z-]+)", DOC))
    assert documented - _options(build_parser()) == set()
