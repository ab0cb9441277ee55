"""The V2 SDK's sixteen calls leave this package as the V2 SDK sent them: method, path,
query and JSON body, request for request. So the server-side V2 session (test_v2.py,
v2_scenario.py) covers what the V2 SDK itself sends. No gateway needed."""

import asyncio
import json
from datetime import datetime

import httpx
import pytest

from trust_gateway_sdk import TrustClient, TrustClientAsync

A = "ag_0123456789abcdef01234567"
WHEN = datetime(2026, 11, 30, 9, 15, 0, 123456)

# (call, args, kwargs) -> (method, path, query, body); the V2 SDK's requests.
V2_REQUESTS = [
    (("register_agent", ("bot", "openai", "abc123", ["send_email"]), {}),
     ("POST", "/agents/register", {}, {"name": "bot", "provider": "openai", "spiffe_id": None,
      "config_hash": "abc123", "capabilities": ["send_email"], "attestation": None})),
    (("register_agent", ("bot", "openai", "abc123", ["x"]),
      {"spiffe_id": "spiffe://example.org/a", "attestation": {"type": "api_key"}}),
     ("POST", "/agents/register", {}, {"name": "bot", "provider": "openai",
      "spiffe_id": "spiffe://example.org/a", "config_hash": "abc123", "capabilities": ["x"],
      "attestation": {"type": "api_key"}})),
    (("get_agent", (A,), {}), ("GET", f"/agents/{A}", {}, None)),
    (("get_trust_breakdown", (A,), {}), ("GET", f"/agents/{A}/trust", {}, None)),
    (("get_trust_history", (A,), {}), ("GET", f"/agents/{A}/history", {"limit": "100"}, None)),
    (("get_trust_history", (A,), {"limit": 5}), ("GET", f"/agents/{A}/history", {"limit": "5"}, None)),
    (("get_agent_card", (A,), {}), ("GET", f"/agents/{A}/card", {}, None)),
    (("issue_token", (A,), {}), ("POST", f"/agents/{A}/token", {"expires_in": "3600"}, None)),
    (("issue_token", (A,), {"expires_in": 600}), ("POST", f"/agents/{A}/token", {"expires_in": "600"}, None)),
    (("record_action", (A, "send_email", "success"), {}),
     ("POST", "/actions/record", {}, {"agent_id": A, "action": "send_email", "result": "success"})),
    (("record_action", (A, "send_email", "failure"), {"timestamp": WHEN}),
     ("POST", "/actions/record", {}, {"agent_id": A, "action": "send_email", "result": "failure",
      "timestamp": "2026-11-30T09:15:00.123456"})),
    (("authorize", (A, "send_email"), {}),
     ("POST", "/authorize", {}, {"agent_id": A, "action": "send_email"})),
    (("authorize", (A, "send_email"), {"context": {"ticket": "T-1"}}),
     ("POST", "/authorize", {}, {"agent_id": A, "action": "send_email", "context": {"ticket": "T-1"}})),
    (("authorize_batch", (A, ["a", "b"]), {}),
     ("POST", "/authorize/batch", {}, {"agent_id": A, "actions": ["a", "b"]})),
    (("get_tiers", (), {}), ("GET", "/tiers", {}, None)),
    (("update_tier", (1, "Limited", 0.2, 0.5, "d", ["read_data"]), {}),
     ("PUT", "/tiers/1", {}, {"tier": 1, "name": "Limited", "min_score": 0.2, "max_score": 0.5,
      "description": "d", "permissions": ["read_data"]})),
    (("get_receipts", (A,), {}), ("GET", f"/receipts/{A}", {}, None)),
    (("get_stats", (), {}), ("GET", "/stats", {}, None)),
    (("create_webhook", ("https://h.example/w", ["tier_changed"]), {}),
     ("POST", "/config/webhooks", {}, {"url": "https://h.example/w", "events": ["tier_changed"], "secret": None})),
    (("create_webhook", ("https://h.example/w", ["tier_changed"]), {"secret": "webhook-secret"}),
     ("POST", "/config/webhooks", {}, {"url": "https://h.example/w", "events": ["tier_changed"],
      "secret": "webhook-secret"})),
    (("list_webhooks", (), {}), ("GET", "/config/webhooks", {}, None)),
    (("health_check", (), {}), ("GET", "/health", {}, None)),
]


def seen(request: httpx.Request):
    body = json.loads(request.content) if request.content else None
    return (request.method, request.url.path, dict(request.url.params), body)


@pytest.mark.parametrize("call,want", V2_REQUESTS)
def test_each_v2_call_sends_the_v2_request(call, want):
    name, args, kwargs = call
    sent = []

    def handler(request):
        sent.append(request)
        return httpx.Response(200, json={})

    with TrustClient("http://gw.test", api_key="k") as c:
        c.client = httpx.Client(transport=httpx.MockTransport(handler), headers={"X-API-Key": "k"})
        getattr(c, name)(*args, **kwargs)
    assert [seen(r) for r in sent] == [want]
    assert sent[0].headers["x-api-key"] == "k"

    async def run():
        async with TrustClientAsync("http://gw.test", api_key="k") as c:
            c.client = httpx.AsyncClient(
                transport=httpx.MockTransport(handler), headers={"X-API-Key": "k"}
            )
            await getattr(c, name)(*args, **kwargs)

    sent.clear()
    asyncio.run(run())
    assert [seen(r) for r in sent] == [want]
