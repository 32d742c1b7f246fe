"""HTTP to webhook receivers that cannot be turned against the dashboard's own network.

A webhook's URL is typed by an organization's admin, so it could name anything the worker can
reach: the cloud's metadata service, a database on the private network, the dashboard itself. The
host is resolved here, every address it resolves to is checked (private, loopback, link-local,
multicast, reserved, unspecified, IPv4-mapped IPv6 too), and the socket connects to the address
that was checked: a DNS answer that changes between the check and the connect (DNS rebinding)
cannot slip through, because there is no second lookup. TLS still verifies the certificate for
the URL's host name (urllib3 takes SNI and the hostname check from the URL, not the socket).

`WEBHOOK_ALLOW_HOSTS` lets a self-hosted install reach its own receivers: listed host names are
trusted whatever they resolve to, listed addresses and networks (CIDR) are allowed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddress(Exception):
    """The host is, or resolves to, an address deliveries must not reach. The message is shown
    on the webhook's page."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def from_settings(cls) -> AllowList:
        hosts, networks = set(), []
        for item in settings.WEBHOOK_ALLOW_HOSTS:
            try:
                networks.append(ipaddress.ip_network(item.strip("[]"), strict=False))
            except ValueError:
                hosts.add(item.lower().rstrip("."))
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        """The host itself is listed: by name, or as an address inside a listed network."""
        host = host.lower().strip("[]").rstrip(".")
        if host in self.hosts:
            return True
        address = literal_address(host)
        return address is not None and self.allows_address(address)

    def allows_address(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def why_refused(address: IPAddress) -> str | None:
    """What kind of address this is, if deliveries may not reach it (None: a public address)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind, test in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    ):
        if test:
            return kind
    return None


def vetted_addresses(host: str, port: int) -> list[tuple[socket.AddressFamily, str]]:
    """Resolve `host` once and return the addresses to connect to, or raise RefusedAddress if any
    of them may not be reached (one bad answer among good ones is refused as well)."""
    allow = AllowList.from_settings()
    bare = host.strip("[]")
    answers = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    trusted_name = allow.allows_host(bare) and literal_address(bare) is None
    vetted = []
    for family, _, _, _, sockaddr in answers:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
        kind = why_refused(address)
        if kind and not trusted_name and not allow.allows_address(address):
            raise RefusedAddress(
                f"{bare} is a {kind} address ({address}): deliveries only go to public "
                "addresses (an operator can allow it with WEBHOOK_ALLOW_HOSTS)."
                if literal_address(bare)
                else f"{bare} resolves to a {kind} address ({address}): deliveries only go to "
                "public addresses (an operator can allow it with WEBHOOK_ALLOW_HOSTS)."
            )
        vetted.append((family, str(sockaddr[0])))
    if not vetted:
        raise RefusedAddress(f"{bare} has no address.")
    return list(dict.fromkeys(vetted))


class _PinnedConnection:
    """Connects to an address `vetted_addresses` checked, never to a second lookup's answer."""

    host: str
    port: int
    timeout: float | None

    def _new_conn(self) -> socket.socket:
        try:
            addresses = vetted_addresses(self.host, self.port)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        error: OSError | None = None
        for family, address in addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect((address, self.port))
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return sock
            except TimeoutError as exc:
                sock.close()
                raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
            except OSError as exc:
                sock.close()
                error = exc
        raise NewConnectionError(
            self,  # type: ignore[arg-type]
            f"Failed to establish a new connection: {error}",
        ) from error


class PinnedHTTPConnection(_PinnedConnection, HTTPConnection):
    pass


class PinnedHTTPSConnection(_PinnedConnection, HTTPSConnection):
    pass


class PinnedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = PinnedHTTPConnection


class PinnedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": PinnedHTTPConnectionPool,
            "https": PinnedHTTPSConnectionPool,
        }


def guarded_session() -> requests.Session:
    """A session whose every connection goes through the address check. No proxy from the
    environment (a proxy would make the connection for us, unchecked)."""
    session = requests.Session()
    session.trust_env = False
    adapter = PinnedAdapter(max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
