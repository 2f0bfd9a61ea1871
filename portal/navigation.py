"""Registries that features add themselves to: top navigation and home-page sections.

A feature's views module calls ``nav_item(...)`` and decorates a context function
with ``@home_section(...)``; the home page shows every section the user may see.
"""
from dataclasses import dataclass, field
from typing import Callable

from flask import url_for


@dataclass(frozen=True)
class NavItem:
    order: int
    endpoint: str
    label: object  # lazy string
    roles: frozenset
    count: Callable = field(default=None, compare=False)  # user -> how many wait there (a badge)
    also: Callable = field(default=None, compare=False)   # user -> True: shown outside ``roles`` too


@dataclass(frozen=True)
class HomeSection:
    order: int
    template: str
    roles: frozenset
    build: Callable = field(compare=False)


_NAV: dict[str, NavItem] = {}
_SECTIONS: dict[str, HomeSection] = {}


def nav_item(order, endpoint, label, roles=(), count=None, also=None):
    """Register a top-bar link for ``roles`` (empty: every signed-in user), sorted by ``order``;
    ``count(user)``: a number shown beside it (e.g. messages waiting), hidden when 0;
    ``also(user)``: shows it to a user outside ``roles`` too (e.g. a department's members)."""
    _NAV[endpoint] = NavItem(order, endpoint, label, frozenset(roles), count, also)


def home_section(order, template, roles=()):
    """Register ``build(user) -> dict | None`` as a home-page section for ``roles`` (empty: all)."""
    def register(build):
        _SECTIONS[template] = HomeSection(order, template, frozenset(roles), build)
        return build
    return register


def _allowed(roles, user):
    return not roles or user.has_role(*roles)


def nav_for(user):
    items = sorted((i for i in _NAV.values()
                    if _allowed(i.roles, user) or (i.also is not None and i.also(user))), key=lambda i: i.order)
    return [{"url": url_for(i.endpoint), "label": i.label, "count": _count(i, user) if i.count else 0}
            for i in items]


def _count(item, user) -> int:
    """An item's badge, on every page: kept between writes (services.figures_cache)."""
    from .services.figures_cache import cached
    return cached(("nav", item.endpoint, user.id), lambda: item.count(user))


def sections_for(user):
    result = []
    for section in sorted(_SECTIONS.values(), key=lambda s: s.order):
        if _allowed(section.roles, user):
            context = section.build(user)
            if context is not None:
                result.append((section.template, context))
    return result


@dataclass(frozen=True)
class ProjectPanel:
    order: int
    template: str
    build: Callable = field(compare=False)


_PANELS: dict[str, ProjectPanel] = {}


def project_panel(order, template):
    """Register ``build(user, project) -> dict | None`` as a panel on the project page."""
    def register(build):
        _PANELS[template] = ProjectPanel(order, template, build)
        return build
    return register


def panels_for(user, project):
    result = []
    for panel in sorted(_PANELS.values(), key=lambda p: p.order):
        context = panel.build(user, project)
        if context is not None:
            result.append((panel.template, context))
    return result
