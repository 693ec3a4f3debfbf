"""Where apps plug into the shared pages: navigation, case-page panels, overview counters.

Apps declare what they plug in on their `PluginConfig`, which installs it in `ready()`; the
layout, the case page and the overview render what is registered, so none of them names
another app and the next feature is added without editing `sagas/` or a sibling.
Registration is keyed by name, so a second `ready()` replaces an entry instead of doubling it.

This sits at the bottom of the shared platform (beside `registry` and `schedule`), not in
`web/`: identity and audit register their own pages here, and `web` imports identity, so a
registry inside `web` would make identity and web import each other. For the same reason the
role check is the caller's: each function takes `allowed(role) -> bool`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from django.apps import AppConfig
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import module_has_submodule

from opsconsole.schedule import PeriodicJob, register_periodic

if TYPE_CHECKING:
    from opsconsole.registry import Section

# What a nav entry contributes: (label, url) pairs, computed per request because some
# entries depend on the configuration file (one list page per saga kind).
NavLinks = Callable[[], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class NavEntry:
    name: str
    order: int
    links: NavLinks
    # None: every signed-in user sees it (the saga lists always did).
    role: str | None = None


@dataclass(frozen=True)
class Panel:
    """A section of the case page, loaded with hx-get from `url_name` (saga id as argument)."""

    name: str  # the section's id is "<name>-panel"
    title: str
    url_name: str
    link_text: str  # the no-JavaScript fallback link
    role: str | None = None
    order: int = 100


@dataclass(frozen=True)
class Count:
    label: str
    count: int
    url: str | None = None


@dataclass(frozen=True)
class Counter:
    """A number on the overview; `compute` returns None when it has nothing to say."""

    name: str
    compute: Callable[[HttpRequest], Count | None]
    role: str | None = None
    order: int = 100
    # People of exactly this role land on the counter's page instead of the overview
    # (approvers on their inbox).
    landing_for: str | None = None


@dataclass(frozen=True)
class Signal:
    """A business signal a feature computes from its read model, for alert rules and charts.

    `compute` (a dotted path, imported when first used, so `apps.py` needs no models) is
    called with the current time and returns `(labels, value)` pairs, one per series: labels
    are named by `labels`, in order (the first is what a rule's `target` matches); a value of
    None means no data for that series. `link` (a dotted path too, optional) turns a series'
    labels into the path of the page it is about. Monitoring stores the values as samples;
    it imports no feature."""

    name: str
    labels: tuple[str, ...]
    compute: str
    description: str = ""
    link: str | None = None


_nav: dict[str, NavEntry] = {}
_panels: dict[str, Panel] = {}
_counters: dict[str, Counter] = {}
_signals: dict[str, Signal] = {}


def register_nav(entry: NavEntry) -> None:
    _nav[entry.name] = entry


def register_panel(panel: Panel) -> None:
    _panels[panel.name] = panel


def register_counter(counter: Counter) -> None:
    _counters[counter.name] = counter


def register_signal(signal: Signal) -> None:
    _signals[signal.name] = signal


def signals() -> dict[str, Signal]:
    """Every registered business signal, by name."""
    return dict(_signals)


@dataclass(frozen=True)
class TargetLink:
    """How the audit log links a record's target to its page: `url_name` reversed with the
    target id (digits only when `numeric`), so the audit pages name no feature."""

    target_type: str
    url_name: str
    numeric: bool = True


_target_links: dict[str, TargetLink] = {}


def register_target_link(link: TargetLink) -> None:
    _target_links[link.target_type] = link


def target_url(target_type: str, target_id: str) -> str | None:
    """The page of an audit target, when its feature says how to reach it; None otherwise."""
    link = _target_links.get(target_type)
    if (
        link is None
        or not target_id
        or (link.numeric and not (target_id.isascii() and target_id.isdigit()))
    ):
        return None
    try:
        return reverse(link.url_name, args=[target_id])
    except NoReverseMatch:
        return None


Plug = NavEntry | Panel | Counter | Signal | TargetLink | PeriodicJob


def install(*plugs: Plug) -> None:
    """Register what an app plugs in, each entry in the registry of its kind."""
    for plug in plugs:
        if isinstance(plug, NavEntry):
            register_nav(plug)
        elif isinstance(plug, Panel):
            register_panel(plug)
        elif isinstance(plug, Counter):
            register_counter(plug)
        elif isinstance(plug, Signal):
            register_signal(plug)
        elif isinstance(plug, TargetLink):
            register_target_link(plug)
        else:
            register_periodic(
                plug.name,
                plug.task,
                plug.seconds,
                expires_after_intervals=plug.expires_after_intervals,
            )


@dataclass(frozen=True)
class Nav:
    """An app's navigation entry as its `PluginConfig` declares it: one link (label + url
    name), or a callable giving several."""

    order: int
    label: str | None = None
    url_name: str | None = None
    links: NavLinks | None = None
    role: str | None = None

    def entry(self, name: str) -> NavEntry:
        links = self.links
        if links is None:
            if self.label is None or self.url_name is None:
                raise ValueError(f"nav entry {name!r} needs label and url_name, or links")
            fixed_label, fixed_name = self.label, self.url_name

            def links() -> Iterable[tuple[str, str]]:
                return [(fixed_label, reverse(fixed_name))]

        return NavEntry(name=name, order=self.order, links=links, role=self.role)


class PluginConfig(AppConfig):
    """An app that plugs in by declaration: its nav entry (named after the app), its other
    plugs, and the configuration sections its `config` module lists in `SECTIONS`.

    Roles are given by value: `opsconsole.identity.roles` needs the models, which are not
    loaded yet when the app configs are."""

    nav: Nav | None = None
    plugs: tuple[Plug, ...] = ()

    def registry_sections(self) -> list[Section]:
        """The configuration file's sections this app parses (see opsconsole.registry)."""
        if not module_has_submodule(self.module, "config"):
            return []
        sections: list[Section] = import_module(f"{self.name}.config").SECTIONS
        return sections

    def ready(self) -> None:
        if self.nav is not None:
            install(self.nav.entry(self.label))
        install(*self.plugs)


def unregister(name: str) -> None:
    """Remove an entry of any kind (tests that register a throwaway one)."""
    for table in (_nav, _panels, _counters, _signals):
        table.pop(name, None)


Allowed = Callable[[str], bool]


def nav_for(path: str, allowed: Allowed) -> list[dict[str, Any]]:
    """The links of every entry the user may see; `active` marks the one `path` is under."""
    nav = []
    for entry in sorted(_nav.values(), key=lambda e: (e.order, e.name)):
        if entry.role is not None and not allowed(entry.role):
            continue
        for label, url in entry.links():
            nav.append({"label": label, "url": url, "active": path.startswith(url)})
    return nav


def panels_for(saga_id: int, allowed: Allowed) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{p.name}-panel",
            "title": p.title,
            "url": reverse(p.url_name, args=[saga_id]),
            "link_text": p.link_text,
        }
        for p in sorted(_panels.values(), key=lambda p: (p.order, p.name))
        if p.role is None or allowed(p.role)
    ]


def counters_for(request: HttpRequest, allowed: Allowed) -> list[dict[str, Any]]:
    out = []
    for c in sorted(_counters.values(), key=lambda c: (c.order, c.name)):
        if c.role is not None and not allowed(c.role):
            continue
        value = c.compute(request)
        if value is not None:
            out.append(
                {
                    "name": c.name,
                    "label": value.label,
                    "n": value.count,
                    "url": value.url,
                    "landing_for": c.landing_for,
                }
            )
    return out


def registered() -> dict[str, list[str]]:
    """Names of everything registered, for checks that each feature plugged itself in."""
    return {"nav": sorted(_nav), "panels": sorted(_panels), "counters": sorted(_counters)}
