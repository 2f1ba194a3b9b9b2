"""The plugin manager: entry points of ``hub.plugins``, the core's default plugins, validation.

Built per app by :func:`build_plugin_manager` and kept in ``app.extensions["hub"]`` — never a
module global, so two apps (or two tests) never share plugins.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, cast

import pluggy

from hub import hookspecs
from hub.config import DEFAULTS
from hub.logs import redact
from hub.types import PluginSetting

logger = logging.getLogger("hub.plugins")

ENTRYPOINT_GROUP = "hub.plugins"
#: The core's own hook implementations, registered like any plugin (datasette's default_*.py).
DEFAULT_PLUGINS = ("hub.inbound_hooks",)
FEATURES = frozenset({"issue-sync", "status-sync", "assignee-sync", "notifications", "chat-actions"})


class PluginStartupError(RuntimeError):
    """A plugin set that cannot run: a duplicate provider key, an unknown hook, a bad feature."""


@dataclass
class PluginRecord:
    name: str
    distribution: str
    version: str
    module: str
    provider: dict[str, Any] | None = None
    hooks: list[str] = field(default_factory=list)
    settings: list[PluginSetting] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.provider["key"]) if self.provider else self.name


@dataclass
class HubPlugins:
    pm: pluggy.PluginManager
    records: dict[str, PluginRecord]
    _callers: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _routes: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def hook(self) -> Any:
        """The hooks, each called only where it belongs: a hook naming a ``provider`` (or an
        ``integration``) goes to the plugin owning that provider and to plugins owning none."""
        return ProviderHooks(self)

    def for_provider(self, name: str, provider: str) -> Any:
        """The hook ``name`` as a caller that leaves out the plugins owning *other* providers."""
        caller = self._callers.get((name, provider))
        if caller is None:
            others = [self.pm.get_plugin(r.name) for r in self.records.values()
                      if r.provider and r.provider.get("key") != provider]
            caller = self.pm.subset_hook_caller(name, remove_plugins=[p for p in others if p is not None])
            self._callers[(name, provider)] = caller
        return caller

    def routes(self, provider: str) -> Any:
        """The provider's v2 :class:`hub.routes.RouteTable`, or ``None`` (a v1 ``on_webhook`` plugin)."""
        if self._routes is None:
            from hub import routes

            self._routes = routes.build(self.pm, self.records)
        return self._routes.get(provider)

    def _changed(self) -> None:
        self._callers.clear()
        self._routes = None

    def register(self, plugin: Any, name: str | None = None) -> str:
        """Register a plugin after start-up (tests, embedding apps); validated like the others."""
        name = name or _plugin_name(plugin)
        _register(self.pm, plugin, name)
        self.records[name] = PluginRecord(name, "(registered)", "", getattr(plugin, "__name__", repr(plugin)))
        try:
            self.pm.check_pending()
            _validate_providers(self.pm, self.records)
            _collect_settings(self.pm, self.records)
        except Exception:
            self.unregister(name)
            raise
        self.records[name].hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or ())
        self._changed()
        return name

    def unregister(self, name: str) -> None:
        self.pm.unregister(name=name)
        self.records.pop(name, None)
        self._changed()

    def settings(self) -> list[tuple[str, PluginSetting]]:
        """(plugin key, setting) of every declared setting, by plugin key then as declared."""
        return [(r.key, st) for r in sorted(self.records.values(), key=lambda r: r.key) for st in r.settings]

    def providers(self) -> dict[str, dict[str, Any]]:
        """Provider key → ``provider_info()`` of every plugin that owns a provider."""
        return {r.provider["key"]: r.provider for r in self.records.values() if r.provider}


class ProviderHooks:
    """``hub.hook.<name>(...)`` with provider routing (see :attr:`HubPlugins.hook`)."""

    def __init__(self, plugins: HubPlugins) -> None:
        self._plugins = plugins

    def __getattr__(self, name: str) -> _RoutedHook:
        return _RoutedHook(self._plugins, name, getattr(self._plugins.pm.hook, name))


class _RoutedHook:
    """One hook of :class:`ProviderHooks`: a call naming a provider (or an integration) reaches the
    owning plugin only. ``get_hookimpls`` and ``spec`` as pluggy's callers have them."""

    def __init__(self, plugins: HubPlugins, name: str, hook: pluggy.HookCaller) -> None:
        self._plugins, self._name, self._hook = plugins, name, hook
        self.get_hookimpls = hook.get_hookimpls
        self.spec = hook.spec

    def __call__(self, **kwargs: Any) -> Any:
        provider = kwargs.get("provider")
        if not isinstance(provider, str):
            integration = kwargs.get("integration")
            provider = getattr(integration, "provider", None)
        if isinstance(provider, str) and provider:
            return self._plugins.for_provider(self._name, provider)(**kwargs)
        return self._hook(**kwargs)


def _register(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    try:
        pm.register(plugin, name=name)
    except ValueError as e:
        raise PluginStartupError(f"plugin {name!r} is registered twice: {e}") from e


def build_plugin_manager(config: dict[str, Any]) -> HubPlugins:
    """Specs, then entry points (unless disabled), then default and extra plugins; validated."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    records: dict[str, PluginRecord] = {}

    if config.get("HUB_LOAD_ENTRYPOINTS", True):
        seen: dict[str, tuple[str, str]] = {}
        for ep in entry_points(group=ENTRYPOINT_GROUP):
            dist = ep.dist.name if ep.dist else "?"
            if ep.name in seen:
                if seen[ep.name] == (ep.value, dist):
                    continue  # the same distribution visible twice on sys.path
                raise PluginStartupError(
                    f"provider key {ep.name!r} is claimed by {seen[ep.name][1]} ({seen[ep.name][0]}) "
                    f"and by {dist} ({ep.value})"
                )
            seen[ep.name] = (ep.value, dist)
            try:
                plugin = ep.load()
            except Exception as e:  # a broken or half-removed install: say which, and how to get rid of it
                raise PluginStartupError(
                    f"plugin {ep.name!r} ({ep.value}) from distribution {dist} cannot be imported: "
                    f"{type(e).__name__}: {e}. Fix it, or remove it with: pip uninstall {dist}"
                ) from e
            _register(pm, plugin, ep.name)
            version = ep.dist.version if ep.dist else ""
            records[ep.name] = PluginRecord(ep.name, dist, version, getattr(plugin, "__name__", ep.value))

    for dotted in DEFAULT_PLUGINS:
        module = importlib.import_module(dotted)
        _register(pm, module, dotted)
        records[dotted] = PluginRecord(dotted, "integration-hub", _own_version(), dotted)

    for extra in config.get("HUB_PLUGINS") or ():
        plugin = importlib.import_module(extra) if isinstance(extra, str) else extra
        name = _plugin_name(plugin)
        _register(pm, plugin, name)
        records[name] = PluginRecord(name, "(registered)", "", getattr(plugin, "__name__", repr(plugin)))

    pm.check_pending()
    _validate_providers(pm, records)
    _collect_settings(pm, records)
    for name, record in records.items():
        plugin = pm.get_plugin(name)
        record.hooks = sorted(c.name for c in pm.get_hookcallers(plugin) or ())
    if config.get("HUB_TRACE_PLUGINS"):
        pm.add_hookcall_monitoring(_trace_before, _trace_after)
    return HubPlugins(pm=pm, records=records)


def _plugin_name(plugin: Any) -> str:
    if isinstance(plugin, ModuleType):
        info = getattr(plugin, "provider_info", None)
        if callable(info):
            value = info()
            if isinstance(value, dict) and value.get("key"):
                return str(value["key"])
        return plugin.__name__
    return getattr(plugin, "name", None) or type(plugin).__name__


def _validate_providers(pm: pluggy.PluginManager, records: dict[str, PluginRecord]) -> None:
    owners: dict[str, str] = {}
    for each in records.values():
        each.provider = None
    for impl in pm.hook.provider_info.get_hookimpls():
        info = impl.function()
        if info is None:
            continue
        if not isinstance(info, dict) or not info.get("key") or not info.get("name"):
            raise PluginStartupError(f"plugin {impl.plugin_name!r}: provider_info() must return key and name")
        key = str(info["key"])
        if key in owners:
            raise PluginStartupError(
                f"provider key {key!r} is claimed by {owners[key]!r} and {impl.plugin_name!r}")
        unknown = set(info.get("features", ())) - FEATURES
        if unknown:
            raise PluginStartupError(f"plugin {impl.plugin_name!r}: unknown features {sorted(unknown)}")
        record = records.get(impl.plugin_name)
        bundled_or_registered = record is None or record.distribution in ("(registered)", "integration-hub")
        if record is not None and not bundled_or_registered and key != record.name:
            raise PluginStartupError(
                f"plugin {impl.plugin_name!r}: provider key {key!r} must equal its entry-point name"
            )
        owners[key] = impl.plugin_name
        if record is not None:
            record.provider = {"key": key, "name": info["name"], "features": list(info.get("features", ()))}
            if isinstance(info.get("install"), dict):  # optional: how the web page offers installing it
                record.provider["install"] = info["install"]
        pattern = info.get("channel_pattern")
        if pattern is not None:
            try:
                re.compile(str(pattern))
            except re.error as e:
                raise PluginStartupError(f"plugin {impl.plugin_name!r}: channel_pattern: {e}") from e
            if record is not None and record.provider is not None:
                record.provider["channel_pattern"] = str(pattern)


def _collect_settings(pm: pluggy.PluginManager, records: dict[str, PluginRecord]) -> None:
    """Each plugin's ``plugin_settings()``: ``HUB_*`` names, each owned by one plugin, none the core's."""
    owners: dict[str, str] = {}
    for impl in pm.hook.plugin_settings.get_hookimpls():
        declared = list(cast("Iterable[Any]", impl.function() or ()))
        for setting in declared:
            if not isinstance(setting, PluginSetting) or not str(setting.name).startswith("HUB_"):
                raise PluginStartupError(
                    f"plugin {impl.plugin_name!r}: plugin_settings() must return hub.types.PluginSetting "
                    f"values named HUB_*, not {setting!r}")
            if setting.name in DEFAULTS or setting.name in owners:
                other = "the core" if setting.name in DEFAULTS else repr(owners[setting.name])
                raise PluginStartupError(
                    f"setting {setting.name} is declared by {impl.plugin_name!r} and by {other}")
            owners[setting.name] = impl.plugin_name
        if impl.plugin_name in records:
            records[impl.plugin_name].settings = declared


def settings_table(settings: list[tuple[str, PluginSetting]]) -> str:
    """The Markdown table of declared settings (the README's, and ``hub plugins --settings``)."""
    lines = ["| variable | plugin | default | meaning |", "|---|---|---|---|"]
    for key, setting in settings:
        default = "—" if setting.default in (None, "") else f"`{setting.default}`"
        meaning = f"{setting.help} (secret: never printed)" if setting.secret else setting.help
        lines.append(f"| `{setting.name}` | {key} | {default} | {meaning} |")
    return "\n".join(lines)


def _own_version() -> str:
    from hub import __version__

    return __version__


#: What a secret looks like inside a traced value: a long token-ish run (a signed link, a JWT, a
#: bot token, a webhook token in a path, a line of a PEM key).
_TOKENISH = re.compile(r"[A-Za-z0-9+/=_.-]{32,}")


def _safe_repr(value: Any) -> str:
    """A value for a trace line: credentials never appear (``metadata`` holds an integration's secrets;
    secret-named keys and token-like strings, e.g. a webhook token in an endpoint, are redacted)."""
    if isinstance(value, dict):
        value = {k: ("[redacted]" if k == "metadata" else v) for k, v in redact(value).items()}
    return _TOKENISH.sub("[redacted]", repr(value))[:500]


def _trace_before(hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
    logger.info(
        "plugin.hook-call",
        extra={"hook": hook_name, "plugins": [i.plugin_name for i in hook_impls],
               "arguments": {k: "[redacted]" if k in ("metadata", "token") else _safe_repr(v)
                             for k, v in kwargs.items() if k != "request"}},
    )


def _trace_after(outcome: pluggy.Result[Any], hook_name: str, hook_impls: Sequence[pluggy.HookImpl],
                 kwargs: Mapping[str, Any]) -> None:
    exc = outcome.exception
    logger.info(
        "plugin.hook-result",
        extra={"hook": hook_name, "result": _safe_repr(outcome.get_result()) if exc is None else None,
               "error": _safe_repr(exc) if exc else None},
    )
