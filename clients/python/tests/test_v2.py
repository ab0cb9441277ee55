"""The V2 README's session, the V2 webhook example and the live dashboard."""

import asyncio
import os
import sys

import httpx
import pytest
import websockets

from trust_gateway_sdk import TrustClient, WebSocketDashboard

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import v2_scenario  # noqa: E402


def test_the_v2_readme_session_runs(base_url, api_key, capsys):
    v2_scenario.main(base_url, api_key, os.environ["TG_WEBHOOK_URL"])
    assert "v2 scenario ok" in capsys.readouterr().out


def test_the_readme_webhook_secret_is_accepted_with_a_warning(client):
    hook = client.create_webhook(
        url=os.environ["TG_WEBHOOK_URL"], events=["tier_changed"], secret="webhook-secret"
    )
    assert "14 characters" in hook["warnings"][0]
    assert any(h["id"] == hook["id"] for h in client.list_webhooks())


def test_the_dashboard_gets_a_ticket_and_streams_events(base_url, api_key, client, agent):
    ws_url = base_url.replace("http://", "ws://") + "/ws/dashboard"

    async def run():
        async with WebSocketDashboard(ws_url, api_key=api_key) as d:
            first = await d.receive()
            assert first["type"] == "initial_stats"
            await asyncio.to_thread(client.record_action, agent["id"], "send_email", "success")
            seen = []
            while not seen or seen[-1]["type"] != "receipt_recorded":
                seen.append(await d.receive())
            assert seen[-1]["data"]["agent_id"] == agent["id"]
            assert await d.send_ping() is True

    asyncio.run(run())


def test_the_dashboard_without_a_key_is_refused(base_url):
    ws_url = base_url.replace("http://", "ws://") + "/ws/dashboard"

    async def run():
        async with WebSocketDashboard(ws_url):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as e:
        asyncio.run(run())
    assert e.value.response.status_code == 401


def test_a_bad_key_gets_no_ticket(base_url):
    ws_url = base_url.replace("http://", "ws://") + "/ws/dashboard"

    async def run():
        async with WebSocketDashboard(ws_url, api_key="not-a-key-of-this-gateway"):
            pass

    with pytest.raises(httpx.HTTPStatusError):
        asyncio.run(run())


def test_the_v2_clients_keep_their_signatures():
    import inspect

    sig = inspect.signature(TrustClient.update_tier)
    assert list(sig.parameters) == [
        "self", "tier", "name", "min_score", "max_score", "description", "permissions"
    ]
    sig = inspect.signature(TrustClient.register_agent)
    assert list(sig.parameters)[:7] == [
        "self", "name", "provider", "config_hash", "capabilities", "spiffe_id", "attestation"
    ]
    assert list(inspect.signature(WebSocketDashboard).parameters)[0] == "ws_url"
