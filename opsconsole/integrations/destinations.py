"""Where outbound calls may go: public addresses only, unless allow-listed.

A subscription URL names a host; every address it resolves to must be public (not loopback,
private, link-local, multicast, reserved or unspecified), so a subscription cannot be used
to probe the internal network. Hosts or networks in INTEGRATIONS_ALLOWED_DESTINATIONS pass
anyway (the demo and the tests allow 127.0.0.1 for their local receivers).

The check runs twice: on the URL before a call (a clear message), and on the address each
connection actually reached (`guarded_session`), so a name that answers a public address to
the check and a private one to the connection (DNS rebinding) still cannot reach inside.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class DestinationRefused(Exception):
    """The URL may not be called; the message says why."""


def _allowed_networks() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    hosts: set[str] = set()
    nets = []
    for entry in settings.INTEGRATIONS_ALLOWED_DESTINATIONS:
        entry = entry.strip().lower()
        if not entry:
            continue
        try:
            nets.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry)
    return hosts, nets


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def check_url(url: str, *, resolve: bool = True) -> None:
    """Raise DestinationRefused unless `url` is http(s) to an allowed destination."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise DestinationRefused("only http and https URLs are allowed")
    host = (parts.hostname or "").lower()
    if not host:
        raise DestinationRefused("the URL has no host")
    if parts.username or parts.password:
        raise DestinationRefused("credentials in the URL are not allowed")
    hosts, nets = _allowed_networks()
    if host in hosts:
        return
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    elif not resolve:
        return
    else:
        try:
            infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError) as exc:
            raise DestinationRefused(f"{host} does not resolve ({exc})") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    for ip in addresses:
        if not _address_allowed(ip, nets):
            raise DestinationRefused(
                f"{host} resolves to {ip}, a loopback or private address; not allowed"
            )


def _address_allowed(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
) -> bool:
    return _is_public(ip) or any(ip in net for net in nets)


def _check_peer(host: str, sock: socket.socket) -> None:
    """Refuse a connection that reached a private address (unless allow-listed)."""
    hosts, nets = _allowed_networks()
    if host.lower() in hosts:
        return
    peer = ipaddress.ip_address(str(sock.getpeername()[0]).split("%")[0])
    if not _address_allowed(peer, nets):
        sock.close()
        raise DestinationRefused(
            f"{host} connected to {peer}, a loopback or private address; not allowed"
        )


class _CheckedHTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(self.host, sock)
        return sock


class _CheckedHTTPSConnection(HTTPSConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _check_peer(self.host, sock)
        return sock


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _CheckedHTTPPool,
            "https": _CheckedHTTPSPool,
        }


def guarded_session() -> requests.Session:
    """A requests session whose every direct connection is checked where it actually
    landed. Through an egress proxy from the environment (HTTPS_PROXY), the connection is to
    the proxy, which the operator chose; it is the one to refuse internal destinations."""
    session = requests.Session()
    adapter = _CheckedAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
