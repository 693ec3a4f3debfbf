"""Where outbound calls may go: public addresses only, unless allow-listed.

A subscription URL names a host; every address it resolves to must be public (not loopback,
private, link-local, multicast, reserved or unspecified), so a subscription cannot be used
to probe the internal network. Hosts or networks in INTEGRATIONS_ALLOWED_DESTINATIONS pass
anyway (the demo and the tests allow 127.0.0.1 for their local receivers).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


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
        if _is_public(ip) or any(ip in net for net in nets):
            continue
        raise DestinationRefused(
            f"{host} resolves to {ip}, a loopback or private address; not allowed"
        )
