"""The htmx conventions, checked over every template: a fragment's root id equals its
hx-target and swaps replace it whole (outerHTML), so a swapped fragment can be swapped again."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
FIRST_ID = re.compile(r"^\s*<[a-z][a-z0-9]*\b[^>]*?\sid=\"([^\"]+)\"", re.IGNORECASE)


def _fragment_roots() -> dict[str, str]:
    """id of the root element -> where the fragment is defined."""
    roots = {}
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        name = str(template.relative_to(TEMPLATES))
        if template.name.startswith("_") and (m := FIRST_ID.match(text)):
            roots[m.group(1)] = name
        for part in re.finditer(r"{%\s*partialdef\s+(\S+)[^%]*%}", text):
            if m := FIRST_ID.match(text[part.end() :]):
                roots[m.group(1)] = f"{name}#{part.group(1)}"
    return roots


def test_it_targets_only_the_root_of_a_fragment():
    roots = _fragment_roots()
    missing = []
    for template in TEMPLATES.rglob("*.html"):
        for target in re.findall(r'hx-target="#([^"]+)"', template.read_text()):
            if target not in roots:
                missing.append(f"{template.relative_to(TEMPLATES)}: #{target}")
    assert missing == [], "hx-target without a fragment whose root has that id"


def test_it_swaps_fragments_whole():
    swaps = set()
    for template in TEMPLATES.rglob("*.html"):
        swaps.update(re.findall(r'hx-swap="([^"]+)"', template.read_text()))
    assert swaps <= {"outerHTML"}, swaps
