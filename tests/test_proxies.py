"""Client addresses and schemes behind trusted proxies: who the rate limit counts,
what the access log says, and when Strict-Transport-Security is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from httpx import ASGITransport, AsyncClient
from pydantic import ValidationError

from backroom.config import Settings
from backroom.main import create_app
from backroom.proxies import TrustedProxies

PEER = "203.0.113.9"  # a client on the internet, talking to us directly
PROXY = "10.1.2.3"  # our load balancer
PRODUCTS = "/api/v1/products"


@asynccontextmanager
async def connected_from(settings: Settings, peer: str) -> AsyncIterator[AsyncClient]:
    application = create_app(settings)
    async with LifespanManager(application):
        transport = ASGITransport(app=application, client=(peer, 40000))
        async with AsyncClient(transport=transport, base_url="http://shop.test") as http:
            yield http


async def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(rate_limit_anonymous="3/minute", access_log=True, log_level="INFO")
    async with connected_from(settings, PEER) as http:
        statuses = [
            (await http.get(PRODUCTS, headers={"X-Forwarded-For": f"198.51.100.{n}"})).status_code
            for n in range(4)
        ]
    # A new made-up address on each request would have dodged the limit.
    assert statuses == [200, 200, 200, 429]
    clients = {r.__dict__["client"] for r in caplog.records if r.name == "backroom.access"}
    assert clients == {PEER}


async def test_forwarded_for_from_a_trusted_proxy_names_the_client(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        rate_limit_anonymous="3/minute",
        access_log=True,
        log_level="INFO",
        trusted_proxies="10.0.0.0/8, ::1",
    )
    async with connected_from(settings, PROXY) as http:

        async def get(forwarded_for: str) -> int:
            response = await http.get(PRODUCTS, headers={"X-Forwarded-For": forwarded_for})
            return response.status_code

        # Right-most untrusted entry: 10.9.9.9 is an inner proxy, and whatever the
        # client wrote to the left of its real address does not count.
        assert await get("198.51.100.7, 10.9.9.9") == 200
        assert await get("6.6.6.6, 198.51.100.7") == 200
        assert await get("7.7.7.7, 198.51.100.7, 10.9.9.9") == 200
        assert await get("198.51.100.7") == 429
        assert await get("198.51.100.8") == 200  # another client has its own budget
    clients = [r.__dict__["client"] for r in caplog.records if r.name == "backroom.access"]
    assert clients == ["198.51.100.7"] * 4 + ["198.51.100.8"]


async def test_a_trusted_proxy_without_forwarded_for_is_the_client(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings(rate_limit_anonymous="2/minute", trusted_proxies=PROXY)
    async with connected_from(settings, PROXY) as http:
        statuses = [(await http.get(PRODUCTS)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


@pytest.mark.parametrize(
    ("hops", "client"),
    [
        (["198.51.100.7"], "198.51.100.7"),
        (["198.51.100.7:51234"], "198.51.100.7"),
        (["[2001:db8::1]:443"], "2001:db8::1"),
        (["2001:db8::1"], "2001:db8::1"),
        (["::ffff:198.51.100.7"], "198.51.100.7"),
        (["198.51.100.7", " ", "10.0.0.5"], "198.51.100.7"),
        (["10.0.0.9", "10.0.0.5"], "10.0.0.9"),  # all trusted: the farthest
        (["198.51.100.7", "not-an-address"], None),  # junk: believe none of it
        ([], None),
    ],
)
def test_client_is_the_right_most_untrusted_hop(hops: list[str], client: str | None) -> None:
    assert TrustedProxies(["10.0.0.0/8"])._client(hops) == client


def test_peer_outside_the_list_changes_nothing() -> None:
    scope: dict[str, Any] = {
        "client": (PEER, 1),
        "scheme": "http",
        "headers": [(b"x-forwarded-for", b"1.1.1.1"), (b"x-forwarded-proto", b"https")],
    }
    TrustedProxies(["10.0.0.0/8"]).apply(scope)
    assert scope["client"] == (PEER, 1)
    assert scope["scheme"] == "http"


def test_trusted_proxies_must_be_addresses_or_networks(
    make_settings: Callable[..., Settings],
) -> None:
    with pytest.raises(ValidationError, match="not an IP address or CIDR network"):
        make_settings(trusted_proxies="10.0.0.0/8, lb.internal")
    assert make_settings(trusted_proxies=" 10.0.0.0/8 , 2001:db8::/32 ").trusted_proxy_list == [
        "10.0.0.0/8",
        "2001:db8::/32",
    ]


@pytest.mark.parametrize(
    ("hsts", "peer", "proto", "sent"),
    [
        ("https", PROXY, "https", True),
        ("https", PROXY, "http", False),
        ("https", PROXY, None, False),
        ("https", PEER, "https", False),  # a forged header from anyone else
        ("always", PEER, None, True),
        ("off", PROXY, "https", False),
    ],
)
async def test_strict_transport_security(
    make_settings: Callable[..., Settings], hsts: str, peer: str, proto: str | None, sent: bool
) -> None:
    settings = make_settings(hsts=hsts, hsts_max_age_seconds=600, trusted_proxies=PROXY)
    headers = {"X-Forwarded-Proto": proto} if proto else {}
    async with connected_from(settings, peer) as http:
        for path in ("/healthz", "/api/v1/no-such-thing", "/docs"):
            response = await http.get(path, headers=headers)
            expected = "max-age=600" if sent else None
            assert response.headers.get("strict-transport-security") == expected, path


async def test_security_headers_on_data_and_on_html(
    make_settings: Callable[..., Settings],
) -> None:
    async with connected_from(make_settings(), PEER) as http:
        data = await http.get(PRODUCTS)
        page = await http.get("/docs")
    for response in (data, page):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert "server" not in response.headers
    assert data.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
