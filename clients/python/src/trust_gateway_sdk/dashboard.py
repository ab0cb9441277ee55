"""`WebSocketDashboard`: the live feed of `/ws/dashboard`.

As in the V2 SDK: `async with WebSocketDashboard(url) as d: await d.listen(callback)`,
each message a dict `{type, timestamp, data}`, and `send_ping()` for `pong`. The gateway
requires a key, so pass `api_key=`: the dashboard trades it for a single-use ticket
(`POST /ws/ticket`) and connects with that, so the key itself never travels in a URL.
"""

from __future__ import annotations

import json
from typing import Any, Awaitable, Callable, Dict, Optional
from urllib.parse import urlsplit, urlunsplit

import httpx
import websockets

Message = Dict[str, Any]


def ticket_url(ws_url: str) -> str:
    """The HTTP URL of `POST /ws/ticket` on the gateway that serves `ws_url`."""
    parts = urlsplit(ws_url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"not a ws:// or wss:// URL: {ws_url!r}")
    path = parts.path.rsplit("/", 1)[0] + "/ticket"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


class WebSocketDashboard:
    """Real-time gateway events over WebSocket."""

    def __init__(self, ws_url: str, api_key: Optional[str] = None, timeout: float = 30.0):
        self.ws_url = ws_url
        self.api_key = api_key
        self.timeout = timeout
        self.ws: Any = None

    async def _url_with_ticket(self) -> str:
        if self.api_key is None:
            return self.ws_url
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            r = await http.post(ticket_url(self.ws_url), headers={"X-API-Key": self.api_key})
            r.raise_for_status()
            ticket = r.json()["ticket"]
        separator = "&" if urlsplit(self.ws_url).query else "?"
        return f"{self.ws_url}{separator}ticket={ticket}"

    async def connect(self) -> None:
        """Connects (with a fresh ticket when an `api_key` was given)."""
        self.ws = await websockets.connect(await self._url_with_ticket())

    async def disconnect(self) -> None:
        if self.ws is not None:
            await self.ws.close()
            self.ws = None

    async def receive(self) -> Message:
        """The next event (skipping `pong`s)."""
        if self.ws is None:
            await self.connect()
        while True:
            raw = await self.ws.recv()
            if raw != "pong":
                return json.loads(raw)

    async def listen(self, callback: Callable[[Message], Awaitable[None]]) -> None:
        """Calls `callback` with every event until the connection closes."""
        if self.ws is None:
            await self.connect()
        try:
            async for raw in self.ws:
                if raw != "pong":
                    await callback(json.loads(raw))
        except websockets.exceptions.ConnectionClosed:
            pass

    async def send_ping(self) -> bool:
        """Keepalive: `ping`, answered `pong`."""
        if self.ws is None:
            return False
        await self.ws.send("ping")
        return await self.ws.recv() == "pong"

    async def __aenter__(self) -> "WebSocketDashboard":
        await self.connect()
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb) -> None:
        await self.disconnect()
