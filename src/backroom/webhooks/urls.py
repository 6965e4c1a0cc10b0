"""Where a webhook may point: the SSRF policy, checked at creation and again at
every delivery (DNS can change between the two).

- ``https`` only; ``http`` only to a loopback address, and only with
  ``BACKROOM_WEBHOOK_ALLOW_PRIVATE_URLS=true`` (development).
- Every address the host resolves to must be public (``ipaddress``'s
  ``is_global``, not multicast): loopback, private (10/8, 172.16/12,
  192.168/16, fc00::/7), link-local (169.254/16 — cloud metadata — and
  fe80::/10), shared (100.64/10), unspecified and reserved ranges are refused,
  as are IPv4 addresses hidden in IPv6 (``::ffff:10.0.0.1``). The allow
  setting lifts this.
- No credentials in the URL, no fragment.

``resolve`` returns the checked addresses; the sender connects to one of those,
never resolving the name again, so a rebinding DNS answer can't slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

MAX_URL = 2048
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeUrl(ValueError):
    """The URL may not be used as a webhook target; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    url: httpx.URL
    addresses: list[IPAddress]


def parse(raw: str, *, allow_private: bool) -> httpx.URL:
    """Check what can be checked without DNS; return the parsed URL."""
    if len(raw) > MAX_URL:
        raise UnsafeUrl(f"must be at most {MAX_URL} characters")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):
        raise UnsafeUrl("not a valid URL") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise UnsafeUrl("must be an https:// URL")
    if url.scheme == "http" and not allow_private:
        raise UnsafeUrl("must be an https:// URL")
    if url.userinfo:
        raise UnsafeUrl("must not contain credentials")
    if url.fragment:
        raise UnsafeUrl("must not contain a fragment")
    return url


async def resolve(raw: str, *, allow_private: bool) -> Target:
    """Parse, resolve and check every address; raise ``UnsafeUrl`` if any is refused."""
    url = parse(raw, allow_private=allow_private)
    addresses = await _addresses(url)
    for address in addresses:
        if not allow_private and not _public(address):
            raise UnsafeUrl(f"resolves to a non-public address ({address})")
        if url.scheme == "http" and not address.is_loopback:
            raise UnsafeUrl("http:// is allowed only to a loopback address")
    return Target(url, addresses)


def _public(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def _addresses(url: httpx.URL) -> list[IPAddress]:
    host = url.host
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (socket.gaierror, UnicodeError):
        raise UnsafeUrl(f"the host {host!r} does not resolve") from None
    found: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise UnsafeUrl(f"the host {host!r} does not resolve")
    return found
