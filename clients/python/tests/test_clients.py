"""Errors, paging, tokens and fail-closed verification through both clients."""

import asyncio
import socket

import httpx
import pytest

from trust_gateway_sdk import TrustClient, TrustClientAsync

UNKNOWN = "ag_000000000000000000000000"


def test_a_refusal_is_an_httpx_status_error_with_the_gateways_body(client):
    with pytest.raises(httpx.HTTPStatusError) as e:
        client.get_agent(UNKNOWN)
    assert e.value.response.status_code == 404
    assert e.value.response.json()["code"] == "not_found"
    with pytest.raises(httpx.HTTPStatusError) as e:
        client.record_action(UNKNOWN, "send_email", "maybe")
    assert e.value.response.status_code == 422


def test_a_wrong_key_is_refused(base_url):
    with TrustClient(base_url, api_key="not-a-key-of-this-gateway") as c:
        with pytest.raises(httpx.HTTPStatusError) as e:
            c.get_stats()
    assert e.value.response.status_code == 401


def test_receipts_are_walked_page_by_page(client, agent):
    for _ in range(5):
        client.record_action(agent["id"], "send_email", "success")
    seqs = [r["seq"] for r in client.iter_receipts(agent["id"], page_size=2)]
    assert seqs == [5, 4, 3, 2, 1]
    assert [r["seq"] for r in client.get_receipts(agent["id"], limit=2, before_seq=3)] == [2, 1]
    assert client.verify_receipt_chain(agent["id"])["valid"] is True


def test_the_async_client_does_the_same(base_url, api_key, agent):
    async def run():
        async with TrustClientAsync(base_url, api_key=api_key) as c:
            for _ in range(3):
                await c.record_action(agent["id"], "send_email", "success")
            seqs = [r["seq"] async for r in c.iter_receipts(agent["id"], page_size=2)]
            got = await c.get_agent(agent["id"])
            result = await c.verify(agent["id"], 0.0)
            return seqs, got, result

    seqs, got, result = asyncio.run(run())
    assert seqs == [3, 2, 1]
    assert got["id"] == agent["id"]
    assert result["meets_threshold"] is False and result["withheld"] is True, "cold start"


def unused_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_verify_fails_closed_without_raising(client, agent):
    dead = f"http://127.0.0.1:{unused_port()}"
    with TrustClient(dead, api_key="k", timeout=5.0) as c:
        r = c.verify(agent["id"], 1.0)
    assert r["meets_threshold"] is False and "failed closed" in r["error"]

    async def dead_async():
        async with TrustClientAsync(dead, api_key="k", timeout=5.0) as c:
            return await c.verify(agent["id"], 1.0)

    r = asyncio.run(dead_async())
    assert r["meets_threshold"] is False and "failed closed" in r["error"]
    with TrustClient(client.base_url, api_key="not-a-key-of-this-gateway") as c:
        r = c.verify(agent["id"], 1.0)
    assert r["meets_threshold"] is False and "401" in r["error"]
    assert client.verify(agent["id"], 7.5)["meets_threshold"] is False
    assert client.verify(UNKNOWN, 0.0)["error"] == "unknown agent"


def test_verify_meets_at_exactly_the_score_read(client, agent):
    for _ in range(6):
        client.record_action(agent["id"], "send_email", "success")
    joy = client.get_trust_breakdown(agent["id"])["joy_score"]
    r = client.verify(agent["id"], joy)
    assert r["meets_threshold"] is True and r["trust_score"] == joy
    assert client.verify(agent["id"], round(joy + 0.001, 3))["meets_threshold"] is False


def test_a_revoked_token_is_inactive(client, agent):
    grant = client.issue_token(agent["id"], expires_in=600)
    assert client.introspect_token(grant["token"])["active"] is True
    revoked = client.revoke_token(jti=grant["jti"], agent_id=agent["id"])
    assert revoked["revoked"] is True
    assert client.introspect_token(grant["token"]) == {"active": False}


def test_a_suspension_shows_in_decisions(client, agent):
    client.suspend_agent(agent["id"], reason="investigating")
    d = client.authorize(agent["id"], "read_config")
    assert d["allowed"] is False
    client.reactivate_agent(agent["id"])
    assert client.authorize(agent["id"], "read_config")["allowed"] is True


def test_a_caller_decides_on_its_own_write(client, agent):
    written = client.suspend_agent(agent["id"], reason="investigating")["state_version"]
    d = client.authorize(agent["id"], "read_config", min_state_version=written)
    assert d["allowed"] is False and d["state_version"] == written
    batch = client.authorize_batch(agent["id"], ["read_config"], min_state_version=written)
    assert batch["state_version"] == written
    trust = client.get_trust_breakdown(agent["id"], min_state_version=written)
    assert trust["state_version"] == written
    with pytest.raises(httpx.HTTPStatusError) as refused:
        client.authorize(agent["id"], "read_config", min_state_version=written + 1)
    assert refused.value.response.status_code == 409
