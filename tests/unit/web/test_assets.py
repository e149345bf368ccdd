"""The workspace's assets: vendored files are the pinned ones, and pages load nothing remote."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from parser_pipeline.web.render import HTMX, STATIC_DIR

VENDOR = STATIC_DIR / "vendor"
TEMPLATES = STATIC_DIR.parent / "templates"


def test_every_vendored_file_is_listed_with_its_checksum_and_licence() -> None:
    listing = (VENDOR / "README.md").read_text(encoding="utf-8")
    for path in VENDOR.iterdir():
        if path.name == "README.md" or path.name.endswith(".LICENSE.txt"):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        row = next(line for line in listing.splitlines() if f"`{path.name}`" in line)
        assert digest in row, path.name
        licence = re.search(r"\(`([^`]+\.LICENSE\.txt)`\)", row)
        assert licence is not None
        assert (VENDOR / licence.group(1)).is_file()
    assert (STATIC_DIR / HTMX).is_file()


def test_no_template_or_script_loads_anything_from_another_site() -> None:
    sources = [*TEMPLATES.glob("*.html"), *STATIC_DIR.glob("*.js"), *STATIC_DIR.glob("*.css")]
    for path in sources:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)=["']https?://""", text), path.name
        assert "@import" not in text, path.name


def test_the_package_ships_its_templates_and_assets() -> None:
    names = {p.name for p in Path(STATIC_DIR).iterdir()}
    assert {"workspace.js", "charts.js", "workspace.css", "vendor"} <= names
    assert (TEMPLATES / "feed.html").is_file()
