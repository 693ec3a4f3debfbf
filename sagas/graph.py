"""The state machine graph: the ASL definition laid out top to bottom, with the path one
execution took and where it failed. Pure: the definition and the timeline come in, the
geometry of a server-rendered SVG goes out (no JavaScript, no layout library)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .timeline import CAUGHT, FAILED, TIMED_OUT, Timeline

NODE_WIDTH = 180
NODE_HEIGHT = 30
INNER_LINE = 14  # a Parallel/Map lists its inner states, one line each
MAX_INNER = 8
GAP_X = 24
GAP_Y = 30
MARGIN = 16


@dataclass(frozen=True)
class Node:
    name: str
    state_type: str
    x: float
    y: float
    width: float
    height: float
    css: str
    inner: tuple[tuple[str, str, float], ...] = ()  # (name, css, y) of a container's states
    visits: int = 0

    @property
    def cx(self) -> float:
        return self.x + self.width / 2

    @property
    def text_y(self) -> float:
        return self.y + 19


@dataclass(frozen=True)
class Edge:
    path: str
    css: str  # "next", "catch", "choice"; "taken" when the execution went that way


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: float
    height: float


def _targets(state: Mapping[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(state.get("Next"), str):
        out.append((state["Next"], "next"))
    for choice in state.get("Choices") or []:
        if isinstance(choice, dict) and isinstance(choice.get("Next"), str):
            out.append((choice["Next"], "choice"))
    if isinstance(state.get("Default"), str):
        out.append((state["Default"], "choice"))
    for catch in state.get("Catch") or []:
        if isinstance(catch, dict) and isinstance(catch.get("Next"), str):
            out.append((catch["Next"], "catch"))
    return out


def _inner_states(state: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    branches = list(state.get("Branches") or [])
    processor = state.get("ItemProcessor") or state.get("Iterator")
    if isinstance(processor, dict):
        branches.append(processor)
    for branch in branches:
        if isinstance(branch, dict):
            names.extend(str(n) for n in (branch.get("States") or {}))
    return names


def _ranks(states: Mapping[str, Any], start: str) -> dict[str, int]:
    """Longest-path layers from the start, back edges (loops) ignored."""
    order: list[str] = []
    seen: set[str] = set()
    on_stack: set[str] = set()
    back: set[tuple[str, str]] = set()

    def visit(name: str) -> None:
        seen.add(name)
        on_stack.add(name)
        for target, _ in _targets(states.get(name) or {}):
            if target not in states:
                continue
            if target in on_stack:
                back.add((name, target))
            elif target not in seen:
                visit(target)
        on_stack.discard(name)
        order.append(name)

    if start in states:
        visit(start)
    for name in states:  # states nothing reaches still get drawn
        if name not in seen:
            visit(name)
    rank = dict.fromkeys(states, 0)
    for name in reversed(order):
        for target, _ in _targets(states.get(name) or {}):
            if target in rank and (name, target) not in back:
                rank[target] = max(rank[target], rank[name] + 1)
    return rank


def layout(
    definition: Mapping[str, Any],
    timeline: Timeline,
    *,
    compensation_steps: frozenset[str] = frozenset(),
    notification_steps: frozenset[str] = frozenset(),
) -> Graph:
    """The graph of `definition` with the states and transitions `timeline` went through,
    and the states that failed, marked."""
    states: Mapping[str, Any] = definition.get("States") or {}
    if not isinstance(states, dict) or not states:
        return Graph((), (), 0, 0)
    visits_of: dict[str, int] = {}
    failed: set[str] = set()
    for v in timeline.visits:
        visits_of[v.name] = visits_of.get(v.name, 0) + 1
        if v.outcome in (FAILED, TIMED_OUT, CAUGHT) and v.state_type != "Fail":
            failed.add(v.name)
        if v.state_type == "Fail":
            failed.add(v.name)
    current = timeline.current.name if timeline.current else ""
    taken: set[tuple[str, str]] = set()
    top_level = [v for v in timeline.visits if not v.lane]
    for before, after in zip(top_level, top_level[1:], strict=False):
        taken.add((before.name, after.name))

    rank = _ranks(states, str(definition.get("StartAt", "")))
    columns: dict[int, int] = {}
    row_height: dict[int, float] = {}
    placed: dict[str, tuple[int, int]] = {}
    for name in states:
        r = rank[name]
        placed[name] = (r, columns.get(r, 0))
        columns[r] = columns.get(r, 0) + 1
        inner = min(len(_inner_states(states[name])), MAX_INNER)
        row_height[r] = max(row_height.get(r, NODE_HEIGHT), NODE_HEIGHT + inner * INNER_LINE)
    row_y: dict[int, float] = {}
    y: float = MARGIN
    for r in sorted(row_height):
        row_y[r] = y
        y += row_height[r] + GAP_Y
    widest = max(columns.values())
    width = MARGIN * 2 + widest * NODE_WIDTH + (widest - 1) * GAP_X

    nodes: dict[str, Node] = {}
    for name, state in states.items():
        r, c = placed[name]
        in_row = columns[r]
        row_width = in_row * NODE_WIDTH + (in_row - 1) * GAP_X
        x = (width - row_width) / 2 + c * (NODE_WIDTH + GAP_X)
        state_type = str(state.get("Type", ""))
        inner_names = _inner_states(state)[:MAX_INNER]
        css = [f"t-{state_type.lower()}"]
        if name in visits_of:
            css.append("visited")
        if name in failed:
            css.append("failed")
        if name == current:
            css.append("current")
        if name in compensation_steps:
            css.append("comp")
        if name in notification_steps:
            css.append("notify")
        nodes[name] = Node(
            name=name,
            state_type=state_type,
            x=round(x, 1),
            y=row_y[r],
            width=NODE_WIDTH,
            height=NODE_HEIGHT + len(inner_names) * INNER_LINE,
            css=" ".join(css),
            inner=tuple(
                (
                    n,
                    "failed" if n in failed else ("visited" if n in visits_of else ""),
                    row_y[r] + 19 + (i + 1) * INNER_LINE,
                )
                for i, n in enumerate(inner_names)
            ),
            visits=visits_of.get(name, 0),
        )
    edges: list[Edge] = []
    for name, state in states.items():
        a = nodes[name]
        for target, kind in _targets(state):
            b = nodes.get(target)
            if b is None:
                continue
            x1, y1 = a.cx, a.y + a.height
            x2, y2 = b.cx, b.y
            if y2 <= y1:  # a loop back up: around the side
                side = max(a.x + a.width, b.x + b.width) + 12
                path = (
                    f"M{a.x + a.width},{a.y + a.height / 2} C{side},{a.y + a.height / 2} "
                    f"{side},{b.y + b.height / 2} {b.x + b.width},{b.y + b.height / 2}"
                )
            else:
                mid = (y1 + y2) / 2
                path = f"M{x1},{y1} C{x1},{mid} {x2},{mid} {x2},{y2}"
            edge_css = kind + (" taken" if (name, target) in taken else "")
            edges.append(Edge(path=path, css=edge_css))
    height = y - GAP_Y + MARGIN
    return Graph(tuple(nodes.values()), tuple(edges), width, height)
