"""Turn the shared ContentSet into what one workspace receives, by applying its overlay."""
from __future__ import annotations

import dataclasses
import json

from packer.content.field_rules import schedule_violations
from packer.content.model import AnalyticRule, ContentItem, ContentSet, RuleKind, Watchlist, Workbook
from packer.content.watchlist_csv import read_items, search_key_errors
from packer.errors import ConfigError, ContentError
from packer.overlay.model import Exclusion, Overlay, Override, Selector, WatchlistItemsFile
from packer.overlay.params import ParameterError, declared_parameters, substitute


def apply_overlays(content: ContentSet, overlay: Overlay) -> ContentSet:
    """The content one workspace receives. Raises ConfigError naming the overlay's origin when
    a selector matches nothing, a parameter is declared by no query, or a value does not fit."""
    if overlay.is_empty:
        return content
    _check_selectors(content, overlay)
    _check_parameters(content, overlay)

    def transform(items: tuple) -> tuple:
        kept = (item for item in items if not any(s.matches(item) for s in overlay.disable))
        return tuple(_apply_to_item(item, overlay) for item in kept)

    def enabled(items: tuple) -> tuple:
        return tuple(item for item in items if not any(s.matches(item) for s in overlay.disable))

    return dataclasses.replace(
        content,
        analytic_rules=transform(content.analytic_rules),
        hunting_queries=transform(content.hunting_queries),
        parsers=transform(content.parsers),
        workbooks=transform(content.workbooks),
        watchlists=_with_items(enabled(content.watchlists), overlay),
        automation_rules=enabled(content.automation_rules),
    )


def _with_items(watchlists: tuple[Watchlist, ...], overlay: Overlay) -> tuple[Watchlist, ...]:
    """Each watchlist with this workspace's items where the overlay gives a CSV for its alias."""
    files = {f.alias.lower(): f for f in overlay.watchlists}
    known = {w.alias.lower() for w in watchlists}
    for alias, items_file in files.items():
        if alias not in known:
            raise ConfigError(f"{overlay.origin} (line {items_file.line}): watchlists: {items_file.alias!r} is no "
                              f"watchlist of the content (aliases: {', '.join(sorted(w.alias for w in watchlists)) or 'none'})")
    return tuple(_replace_items(w, files[w.alias.lower()], overlay) if w.alias.lower() in files else w
                 for w in watchlists)


def _replace_items(watchlist: Watchlist, items_file: WatchlistItemsFile, overlay: Overlay) -> Watchlist:
    where = f"{overlay.origin} (line {items_file.line}): watchlists: {watchlist.alias}"
    try:
        items = read_items(items_file.path)
    except ContentError as exc:
        raise ConfigError(f"{where}: {exc.path}:{exc.line}: {exc.message}") from None
    errors = search_key_errors(watchlist.search_key, items.columns, items.rows)
    if errors:
        found = "; ".join(f"{items.path}:{line}: {message}" for line, _, message in errors[:5])
        raise ConfigError(f"{where}: {found}")
    return dataclasses.replace(watchlist, columns=items.columns, rows=items.rows)


def _apply_to_item(item: ContentItem, overlay: Overlay) -> ContentItem:
    for override in overlay.overrides:
        if override.select.matches(item):
            item = _override(item, override, overlay)
    if isinstance(item, Workbook):
        return item
    if overlay.parameters:
        item = _with_parameters(item, overlay)
    for exclusion in overlay.exclusions:
        if exclusion.select.matches(item):
            item = dataclasses.replace(item, query=_exclude(item, exclusion, overlay))
    return item


def _override(item: ContentItem, override: Override, overlay: Overlay) -> ContentItem:
    if not isinstance(item, AnalyticRule):
        return item  # severity, enabled, schedule and threshold exist on analytic rules only
    changes: dict = {}
    if override.severity is not None:
        changes["severity"] = override.severity
    if override.enabled is not None:
        changes["enabled"] = override.enabled
    if item.kind is RuleKind.SCHEDULED:
        if override.query_frequency is not None:
            changes["query_frequency"] = override.query_frequency
        if override.query_period is not None:
            changes["query_period"] = override.query_period
        if override.trigger_threshold is not None:
            changes["trigger_threshold"] = override.trigger_threshold
    if not changes:
        return item
    result = dataclasses.replace(item, **changes)
    if result.query_frequency is not None and result.query_period is not None:
        _check_schedule(result, override, overlay)
    return result


def _check_schedule(rule: AnalyticRule, override: Override, overlay: Overlay) -> None:
    """The schedule rules content files obey (packer.content.field_rules), for the overridden rule."""
    violations = schedule_violations(rule.query_frequency, rule.query_period)
    if violations:
        found = "; ".join(f"{v.field}: {v.message}" for v in violations)
        raise ConfigError(f"{_where(overlay, override.select)}: rule '{rule.name}' would get queryFrequency "
                          f"{rule.query_frequency} and queryPeriod {rule.query_period}: {found}")


def _with_parameters(item: ContentItem, overlay: Overlay) -> ContentItem:
    try:
        query = substitute(item.query, dict(overlay.parameters))
    except ParameterError as exc:
        raise ConfigError(f"{overlay.origin}: parameters: {item.name}: {exc}") from None
    return item if query == item.query else dataclasses.replace(item, query=query)


def _exclude(item: ContentItem, exclusion: Exclusion, overlay: Overlay) -> str:
    if exclusion.column.lower() not in item.query.lower():
        raise ConfigError(
            f"{_where(overlay, exclusion.select)}: exclusion column '{exclusion.column}' does not appear in the "
            f"query of '{item.name}'; name a column the query's output has"
        )
    values = ", ".join(json.dumps(value, ensure_ascii=False) for value in exclusion.values)
    note = f" // exclusion: {exclusion.reason}" if exclusion.reason else ""
    return f"{item.query.rstrip()}\n| where not({exclusion.column} in~ ({values})){note}\n"


def _check_selectors(content: ContentSet, overlay: Overlay) -> None:
    selectors = [*overlay.disable, *(o.select for o in overlay.overrides), *(e.select for e in overlay.exclusions)]
    for selector in selectors:
        candidates = content.items if selector in overlay.disable else content.packaged
        if not any(selector.matches(item) for item in candidates):
            raise ConfigError(f"{_where(overlay, selector)}: selector {selector.describe()} matches no content item")


def _check_parameters(content: ContentSet, overlay: Overlay) -> None:
    declared: set[str] = set()
    for item in content.packaged:
        if isinstance(item, Workbook):
            continue
        try:
            declared.update(declared_parameters(item.query))
        except ParameterError as exc:
            raise ConfigError(f"{item.source.path}: query parameters: {exc}") from None
    unknown = sorted(set(overlay.parameters) - declared)
    if unknown:
        known = ", ".join(sorted(declared)) or "none"
        raise ConfigError(
            f"{overlay.origin}: parameters {', '.join(unknown)} are declared by no query "
            f"(declared: {known}); declare one with `let Name = <default>; // @param`"
        )


def _where(overlay: Overlay, selector: Selector) -> str:
    return f"{overlay.origin} (line {selector.line})" if selector.line else overlay.origin
