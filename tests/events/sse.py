"""A small Server-Sent Events client over httpx streaming, for tests against a real
server: it parses the wire format itself (so the framing is checked, not trusted)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson


@dataclass
class Message:
    """One block of the stream (up to a blank line)."""

    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    retry: int | None = None
    comments: list[str] = field(default_factory=list)

    @property
    def is_event(self) -> bool:
        return bool(self.data)

    def body(self) -> dict[str, Any]:
        loaded: dict[str, Any] = orjson.loads("\n".join(self.data))
        return loaded


class Stream:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()
        # A read cut short by a timeout stays pending for the next call: cancelling
        # it would close httpx's line iterator, and the stream with it.
        self._pending: asyncio.Task[str] | None = None

    async def _line(self, deadline: float) -> str:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._lines))
        remaining = deadline - asyncio.get_running_loop().time()
        done, _ = await asyncio.wait({self._pending}, timeout=max(0.0, remaining))
        if not done:
            raise TimeoutError
        task, self._pending = self._pending, None
        try:
            return task.result()
        except StopAsyncIteration:
            raise EOFError("the stream ended") from None

    async def next(self, within: float = 10.0) -> Message:
        """The next block, comments and hints included."""
        deadline = asyncio.get_running_loop().time() + within
        message = Message()
        while True:
            line = await self._line(deadline)
            if line == "":
                if message != Message():
                    return message
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                message.comments.append(value)
            elif name == "id":
                message.id = value
            elif name == "event":
                message.event = value
            elif name == "data":
                message.data.append(value)
            elif name == "retry":
                message.retry = int(value)

    async def events(self, count: int, within: float = 20.0) -> list[Message]:
        """The next ``count`` event messages, skipping comments and hints."""
        deadline = asyncio.get_running_loop().time() + within
        found: list[Message] = []
        while len(found) < count:
            message = await self.next(deadline - asyncio.get_running_loop().time())
            if message.is_event:
                found.append(message)
        return found

    async def until(self, last_id: int, within: float = 30.0) -> list[Message]:
        """Event messages up to and including id ``last_id``."""
        deadline = asyncio.get_running_loop().time() + within
        found: list[Message] = []
        while not found or int(found[-1].id or 0) < last_id:
            message = await self.next(deadline - asyncio.get_running_loop().time())
            if message.is_event:
                found.append(message)
        return found

    async def quiet(self, seconds: float) -> list[Message]:
        """Event messages that arrive within ``seconds`` (expected: none)."""
        deadline = asyncio.get_running_loop().time() + seconds
        found: list[Message] = []
        try:
            while True:
                message = await self.next(deadline - asyncio.get_running_loop().time())
                if message.is_event:
                    found.append(message)
        except TimeoutError:
            return found

    async def rest(self, within: float = 10.0) -> list[Message]:
        """Every block until the server ends the stream (a timeout fails)."""
        deadline = asyncio.get_running_loop().time() + within
        found: list[Message] = []
        try:
            while True:
                found.append(await self.next(deadline - asyncio.get_running_loop().time()))
        except EOFError:
            return found

    async def aclose(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(BaseException):
                await self._pending


def client(base_url: str, *, receive_buffer: int | None = None) -> httpx.AsyncClient:
    """A client; ``receive_buffer`` shrinks the socket's receive buffer, so a client
    that stops reading pushes back on the server after a few kilobytes."""
    options = [(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)] if receive_buffer else None
    transport = httpx.AsyncHTTPTransport(socket_options=options)
    timeout = httpx.Timeout(30.0, read=None)
    return httpx.AsyncClient(base_url=base_url, transport=transport, timeout=timeout)


@asynccontextmanager
async def subscribe(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    *,
    last_event_id: int | str | None = None,
    types: str | None = None,
) -> AsyncIterator[Stream]:
    """Open ``GET /api/v1/events``; the stream must answer 200 and begin with ``retry``."""
    sent = dict(headers)
    if last_event_id is not None:
        sent["Last-Event-ID"] = str(last_event_id)
    params = {"types": types} if types is not None else None
    async with http.stream("GET", "/api/v1/events", headers=sent, params=params) as response:
        assert response.status_code == 200, (await response.aread()).decode()
        assert response.headers["content-type"].startswith("text/event-stream")
        stream = Stream(response)
        first = await stream.next()
        assert first.retry is not None and not first.is_event
        try:
            yield stream
        finally:
            await stream.aclose()
