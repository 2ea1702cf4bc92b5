"""The built wheel carries every package of the source tree, typed, and no stray top level."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def source_packages() -> set[str]:
    found = set()
    for init in (ROOT / "src" / "ticketdomain").rglob("__init__.py"):
        found.add(str(init.parent.relative_to(ROOT / "src")))
    for init in (ROOT / "src" / "adapters").glob("*/**/__init__.py"):
        found.add(str(init.parent.relative_to(ROOT / "src" / "adapters")))
    return found


def test_the_wheel_ships_every_package_with_its_type_marker(tmp_path: Path) -> None:
    # Build from a clean copy: an in-tree build/ directory would hide a missing package.
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(tree),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("ticketdomain-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {str(Path(n).parent) for n in names if n.endswith("/__init__.py")}
    assert source_packages() <= shipped
    top_levels = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top_levels == {p.split("/")[0] for p in source_packages()}
    assert "adapters" not in top_levels and "tests" not in top_levels
    for top in top_levels:
        assert f"{top}/py.typed" in names
    # What a pip install needs at run time besides code: the fonts (every script prints with no
    # system font), the mail templates, the migrations, and the console script.
    adapters = ROOT / "src" / "adapters"
    for data in (
        *(adapters / "ticketdomain_fpdf" / "fonts").iterdir(),
        *(adapters / "ticketdomain_jinja" / "templates").rglob("*.*"),
    ):
        assert str(data.relative_to(adapters)) in names, data
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    assert (
        "ticketdomain = ticketdomain_cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    )
