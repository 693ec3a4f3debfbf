"""What the monitoring benchmarks share: their `### title` blocks inside `## Monitoring`."""

from __future__ import annotations

from _django import ROOT

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Monitoring"


def write_block(title: str, lines: list[str]) -> None:
    """Replace (or add) the `### title` block inside the `## Monitoring` section."""
    block = "\n".join([f"### {title}", "", *lines, ""]) + "\n"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    if SECTION not in text:
        text = text.rstrip("\n") + f"\n\n{SECTION}\n\nMeasured on this 2-core machine, shared.\n\n"
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:] if end == -1 else text[start : end + 1]
    head = f"### {title}\n"
    if head in section:
        b = section.index(head)
        e = section.find("\n### ", b + len(head))
        section = section[:b] + block + ("" if e == -1 else section[e + 1 :])
    else:
        section = section.rstrip("\n") + "\n\n" + block
    text = text[:start] + section + ("" if end == -1 else text[end + 1 :])
    RESULTS.write_text(text)
