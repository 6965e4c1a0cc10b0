"""One HTTP attempt: check the target again, sign, POST, classify the answer.

The host is resolved and checked against the SSRF policy on every attempt, and
the request goes to the checked address (the name is kept for ``Host`` and TLS
SNI/certificate checks), so a DNS answer that changed to an internal address is
refused rather than followed. Redirects are not followed (a 3xx is a failure),
proxies from the environment are ignored, and the response body is never read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from backroom import __version__
from backroom.webhooks import signing, urls

USER_AGENT = f"backroom-webhooks/{__version__}"


@dataclass(frozen=True, slots=True)
class Outcome:
    succeeded: bool
    response_status: int | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds the receiver asked us to wait


def client() -> httpx.AsyncClient:
    """The client deliveries share: no redirects, no proxies from the environment."""
    return httpx.AsyncClient(
        follow_redirects=False,
        trust_env=False,
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


async def send(
    http: httpx.AsyncClient, *, url: str, secrets: list[str], msg_id: str, body: bytes,
    allow_private: bool, timeout: float,  # noqa: ASYNC109 - httpx's own timeouts, per phase
) -> Outcome:  # fmt: skip
    try:
        target = await urls.resolve(url, allow_private=allow_private)
    except urls.UnsafeUrl as exc:
        return Outcome(False, error=f"refused: {exc}")
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "host": target.url.netloc.decode("ascii"),
        **signing.headers(secrets, msg_id, int(time.time()), body),
    }
    extensions = {"sni_hostname": target.url.host} if target.url.scheme == "https" else {}
    for address in target.addresses:  # as a browser would: the next one if it can't connect
        pinned = target.url.copy_with(host=str(address))
        try:
            async with http.stream(
                "POST", pinned, content=body, headers=headers, timeout=timeout,
                extensions=extensions,
            ) as response:  # fmt: skip
                status = response.status_code
                retry_after = _retry_after(response.headers.get("retry-after"))
            break
        except httpx.ConnectError as exc:
            failure = Outcome(False, error=f"ConnectError: {exc}"[:500])
        except httpx.TimeoutException:
            return Outcome(False, error=f"timed out after {timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:500])
    else:
        return failure
    if 200 <= status < 300:
        return Outcome(True, status)
    return Outcome(False, status, f"HTTP {status}", retry_after)


def _retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())
