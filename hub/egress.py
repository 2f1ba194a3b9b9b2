"""Which addresses the hub may connect to: ``HUB_OUTBOUND_ALLOW`` and ``HUB_OUTBOUND_DENY``.

Admins type base URLs (a Jira Server's); without a rule the hub would send signed requests to
any address they name, a cloud metadata service included. Each list holds host names
(``jira.example.org``, ``*.example.org``), addresses and CIDRs, and the words ``private``,
``loopback`` and ``link-local``. The built-in deny list (link-local, which holds
169.254.169.254, and the AWS and Alibaba metadata addresses) always applies; the default allows
everything else, private and loopback included, as self-hosted Jira needs.

The most specific matching entry decides: a host name beats any address range, a longer prefix
beats a shorter one, and on a tie deny wins. So ``HUB_OUTBOUND_DENY=private`` with
``HUB_OUTBOUND_ALLOW=10.1.2.3`` reaches that one Jira, and ``HUB_OUTBOUND_ALLOW=0.0.0.0/0``
still never reaches 169.254.169.254.

The check runs where a connection is opened (:class:`GuardedAdapter`, mounted by
:class:`hub.http.BaseApiClient` on its session): the host is resolved once, every resolved
address is checked, and the socket connects to an allowed address it was checked for, so a DNS
answer that changes between a check and the connect (rebinding) cannot slip through, and a
redirect is checked like any other connection.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as u3_connection

from hub.errors import ApiAddressRefused

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

WORDS: dict[str, tuple[str, ...]] = {
    "private": ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7"),
    "loopback": ("127.0.0.0/8", "0.0.0.0/8", "::1/128", "::/128"),  # 0.0.0.0 connects to this host
    "link-local": ("169.254.0.0/16", "fe80::/10"),
}
#: Always denied (HUB_OUTBOUND_DENY adds to these): link-local (169.254.169.254, the metadata
#: service of AWS, GCP, Azure and others), AWS's IPv6 metadata address, Alibaba Cloud's.
BUILT_IN_DENY = ("link-local", "fd00:ec2::254", "100.100.100.200")
HOST_SPECIFICITY = 1000  # a host-name entry beats any address range


@dataclass(frozen=True)
class Rule:
    """One entry of a list: a host name pattern, or an address range."""

    text: str
    host: str = ""
    network: IPNetwork | None = None

    @property
    def specificity(self) -> int:
        return HOST_SPECIFICITY if self.host else self.network.prefixlen if self.network else 0

    def matches(self, host: str, address: IPAddress | None) -> bool:
        if self.host:
            name = host.lower().rstrip(".")
            if self.host.startswith("*."):
                return name.endswith(self.host[1:])
            return name == self.host
        return address is not None and self.network is not None and address.version == self.network.version \
            and address in self.network


def parse_rules(value: str | Iterable[str] | None) -> tuple[Rule, ...]:
    """``"private, 10.1.2.3, jira.example.org"`` as rules; ``ValueError`` names a bad entry."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    rules: list[Rule] = []
    for raw in items:
        entry = str(raw).strip().lower()
        if not entry:
            continue
        if entry in WORDS:
            rules += [Rule(entry, network=ipaddress.ip_network(cidr)) for cidr in WORDS[entry]]
            continue
        try:
            rules.append(Rule(entry, network=ipaddress.ip_network(entry.strip("[]"), strict=False)))
            continue
        except ValueError:
            pass
        name = entry[2:] if entry.startswith("*.") else entry
        labels = name.rstrip(".").split(".")
        if not name or "/" in name or ":" in name or not all(
                label and len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
                for label in labels):
            raise ValueError(f"{raw!r} is not a host name, an address, a CIDR or one of {', '.join(WORDS)}")
        rules.append(Rule(entry, host=entry.rstrip(".")))
    return tuple(rules)


def normalized(address: str) -> IPAddress | None:
    """The address (an IPv4-mapped IPv6 address as its IPv4 one), or ``None`` for a host name."""
    try:
        ip = ipaddress.ip_address(address.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True)
class Policy:
    allow: tuple[Rule, ...]
    deny: tuple[Rule, ...]

    def allows(self, host: str, address: IPAddress | None) -> bool:
        """Whether a connection to ``host`` at ``address`` may be opened (``None``: names only)."""
        best: tuple[int, bool] | None = None  # (specificity, denied): deny sorts above allow on a tie
        for rules, denied in ((self.allow, False), (self.deny, True)):
            for rule in rules:
                if rule.matches(host, address):
                    candidate = (rule.specificity, denied)
                    best = candidate if best is None or candidate > best else best
        return best is None or not best[1]


def check_settings(config: Mapping[str, Any]) -> None:
    """Refuse to start on a ``HUB_OUTBOUND_*`` typo: it must not silently open (or close) outbound traffic."""
    for key in ("HUB_OUTBOUND_ALLOW", "HUB_OUTBOUND_DENY"):
        try:
            parse_rules(config.get(key) or "")
        except ValueError as e:
            raise ValueError(f"{key}: {e}") from e


@functools.lru_cache(maxsize=16)
def policy(allow: str = "", deny: str = "") -> Policy:
    """The policy of these two settings (the built-in deny list always added)."""
    return Policy(parse_rules(allow), parse_rules(",".join((*BUILT_IN_DENY, deny or "")).strip(",")))


def current_policy() -> Policy:
    """The running app's policy (``HUB_OUTBOUND_*``), or the environment's outside an app."""
    from flask import current_app, has_app_context

    if has_app_context():
        config: Any = current_app.config
    else:
        from hub.config import from_environ

        config = from_environ()
    return policy(_text(config.get("HUB_OUTBOUND_ALLOW")), _text(config.get("HUB_OUTBOUND_DENY")))


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else ",".join(str(v) for v in value)


def refused(host: str, port: int | None = None) -> ApiAddressRefused:
    where = f"{host}:{port}" if port else host
    return ApiAddressRefused(f"the address of {where} is not allowed by the hub's outbound policy "
                             "(HUB_OUTBOUND_ALLOW / HUB_OUTBOUND_DENY)")


def check_url_host(host: str) -> None:
    """Refuse early what can be decided before resolving: a denied literal address or host name."""
    if not current_policy().allows(host, normalized(host)):
        raise refused(host)


# -- the connection: resolve once, check every address, connect to a checked one ------------------


if TYPE_CHECKING:  # what the mixin is mixed into (both connection classes below are HTTPConnections)
    _Connection = HTTPConnection
else:
    _Connection = object


class _GuardedConnectionMixin(_Connection):
    def _new_conn(self) -> socket.socket:
        rules = current_policy()
        host = self._dns_host.strip("[]")
        try:
            family = u3_connection.allowed_gai_family()
            infos = socket.getaddrinfo(host, self.port, family, socket.SOCK_STREAM)
        except socket.gaierror as e:
            raise NameResolutionError(self.host, self, e) from e
        allowed = [info for info in infos if rules.allows(self.host, normalized(str(info[4][0])))]
        if not allowed:
            raise refused(self.host, self.port)
        error: OSError | None = None
        for _family, _type, _proto, _name, sockaddr in allowed:
            try:  # a numeric address: create_connection resolves nothing more
                return u3_connection.create_connection((str(sockaddr[0]), self.port), self.timeout,
                                                       source_address=self.source_address,
                                                       socket_options=self.socket_options)
            except TimeoutError as e:
                message = f"Connection to {self.host} timed out."
                raise ConnectTimeoutError(self, message) from e
            except OSError as e:
                error = e
        message = f"Failed to establish a new connection: {error}"
        raise NewConnectionError(self, message)


class GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


class _GuardedHTTPPool(HTTPConnectionPool):
    ConnectionCls = GuardedHTTPConnection


class _GuardedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = GuardedHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections obey the outbound policy (direct connections; with
    ``HTTP(S)_PROXY`` set, the connection checked is the one to the proxy)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _GuardedHTTPPool, "https": _GuardedHTTPSPool}
