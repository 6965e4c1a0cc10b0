"""The client's address and scheme behind reverse proxies.

``X-Forwarded-For`` and ``X-Forwarded-Proto`` are headers anyone can send, so
they are believed only when the TCP peer is one of the configured trusted
proxies (``BACKROOM_TRUSTED_PROXIES``; empty by default, so no header is
believed). The client is then the right-most address in ``X-Forwarded-For``
that is not itself a trusted proxy: each proxy appends the address it saw, so
everything left of that entry was written by the client and may be forged.

The server's own proxy-header handling is off (``server.py``): this is the one
place that decides, so rate limits and logs can't disagree about who is asking.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TrustedProxies:
    def __init__(self, networks: Iterable[str]) -> None:
        self.networks: tuple[Network, ...] = tuple(
            ipaddress.ip_network(n, strict=False) for n in networks
        )

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, host: str) -> bool:
        address = _address(host)
        return address is not None and any(address in net for net in self.networks)

    def apply(self, scope: Scope) -> None:
        """Set ``scope["client"]`` and ``scope["scheme"]`` from the proxy headers,
        if the peer is a trusted proxy; otherwise leave the scope as it is."""
        peer = scope.get("client")
        if not peer or not self.trusts(peer[0]):
            return
        hops: list[str] = []
        proto: bytes | None = None
        for key, value in scope["headers"]:
            if key == b"x-forwarded-for":
                hops.extend(value.decode("latin-1").split(","))
            elif key == b"x-forwarded-proto":
                proto = value
        if proto is not None:
            # A chain may append; the last value is the one the nearest proxy saw.
            scheme = proto.decode("latin-1").rsplit(",", 1)[-1].strip().lower()
            if scheme in ("http", "https"):
                scope["scheme"] = scheme
        client = self._client(hops)
        if client is not None:
            scope["client"] = (client, 0)

    def _client(self, hops: list[str]) -> str | None:
        addresses: list[Address] = []
        for hop in reversed([h.strip() for h in hops if h.strip()]):
            address = _address(hop)
            if address is None:
                # Proxies append real addresses, so junk here means a misconfigured
                # chain: believe none of the header rather than guess.
                return None
            if not any(address in net for net in self.networks):
                return str(address)
            addresses.append(address)
        # Every hop is a trusted proxy: the farthest one is the best we know.
        return str(addresses[-1]) if addresses else None


def _address(text: str) -> Address | None:
    """An IP address from ``1.2.3.4``, ``1.2.3.4:5678``, ``::1`` or ``[::1]:5678``."""
    host = text
    if text.startswith("["):
        host = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        host = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a dual-stack socket's view of an IPv4 peer
    return address
