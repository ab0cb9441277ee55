"""`TrustClient` (blocking) and `TrustClientAsync`, on httpx.

Both keep the V2 SDK's constructor, method names and signatures, and its errors: a
refusal raises `httpx.HTTPStatusError` (the gateway's `{"detail", "code"}` body is on
`error.response`). `verify` is the exception: it never raises, and any failure denies.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Dict, Iterator, Optional

import httpx

from ._calls import (
    NEXT_BEFORE_SEQ,
    Call,
    Calls,
    believed,
    checked_threshold,
    denial,
    receipts_call,
)

#: The V2 SDK's timeout.
DEFAULT_TIMEOUT = 30.0


def _answer(response: httpx.Response) -> Any:
    response.raise_for_status()
    if response.status_code == 204:
        return None
    return response.json()


def _next_cursor(response: httpx.Response) -> Optional[int]:
    header = response.headers.get(NEXT_BEFORE_SEQ)
    return int(header) if header else None


class TrustClient(Calls):
    """Blocking client: `with TrustClient(url, api_key=key) as client: ...`."""

    def __init__(self, base_url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.client = httpx.Client(headers={"X-API-Key": api_key}, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "TrustClient":
        return self

    def __exit__(self, exc_type, exc_val, exc_tb) -> None:
        self.close()

    def _request(self, call: Call) -> httpx.Response:
        return self.client.request(
            call.method, self.base_url + call.path, params=call.params, json=call.json
        )

    def _send(self, call: Call) -> Any:
        return _answer(self._request(call))

    def verify(
        self, agent_id: Optional[str], min_score: float, agent_name: Optional[str] = None
    ) -> Dict[str, Any]:
        """Joy §7.1: does the agent meet `min_score` (0–5)? Never raises: an unreachable
        gateway, a timeout, a refusal or an answer that cannot be believed is a
        `TrustResult` with `meets_threshold: False` and `error` saying why."""
        bad = checked_threshold(min_score)
        if bad:
            return denial(min_score, agent_id, f"trust check failed closed: {bad}")
        try:
            answer = self._send(self._verify_call(agent_id, min_score, agent_name))
        except (httpx.HTTPError, ValueError) as e:
            return denial(min_score, agent_id, f"trust check failed closed: {e}")
        return believed(answer, min_score, agent_id, agent_name)

    def iter_receipts(self, agent_id: str, page_size: int = 100) -> Iterator[Dict[str, Any]]:
        """Every receipt, newest first, a page at a time."""
        before: Optional[int] = None
        while True:
            call = receipts_call(agent_id, page_size, before)
            response = self._request(call)
            yield from _answer(response)
            before = _next_cursor(response)
            if before is None:
                return


class TrustClientAsync(Calls):
    """Async client: `async with TrustClientAsync(url, api_key=key) as client: ...`."""

    def __init__(self, base_url: str, api_key: str, timeout: float = DEFAULT_TIMEOUT):
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.client = httpx.AsyncClient(headers={"X-API-Key": api_key}, timeout=timeout)

    async def close(self) -> None:
        await self.client.aclose()

    async def __aenter__(self) -> "TrustClientAsync":
        return self

    async def __aexit__(self, exc_type, exc_val, exc_tb) -> None:
        await self.close()

    async def _request(self, call: Call) -> httpx.Response:
        return await self.client.request(
            call.method, self.base_url + call.path, params=call.params, json=call.json
        )

    async def _send(self, call: Call) -> Any:
        return _answer(await self._request(call))

    async def verify(
        self, agent_id: Optional[str], min_score: float, agent_name: Optional[str] = None
    ) -> Dict[str, Any]:
        """As `TrustClient.verify`: never raises; any failure denies."""
        bad = checked_threshold(min_score)
        if bad:
            return denial(min_score, agent_id, f"trust check failed closed: {bad}")
        try:
            answer = await self._send(self._verify_call(agent_id, min_score, agent_name))
        except (httpx.HTTPError, ValueError) as e:
            return denial(min_score, agent_id, f"trust check failed closed: {e}")
        return believed(answer, min_score, agent_id, agent_name)

    async def iter_receipts(
        self, agent_id: str, page_size: int = 100
    ) -> AsyncIterator[Dict[str, Any]]:
        """Every receipt, newest first, a page at a time."""
        before: Optional[int] = None
        while True:
            call = receipts_call(agent_id, page_size, before)
            response = await self._request(call)
            for receipt in _answer(response):
                yield receipt
            before = _next_cursor(response)
            if before is None:
                return
