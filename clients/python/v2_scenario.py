"""The Trust Gateway V2 README's own session, through `trust_gateway_sdk`, call for call.

Usage: python v2_scenario.py BASE_URL API_KEY WEBHOOK_URL

Uses only the V2 SDK's sixteen calls, with the V2 SDK's signatures and the README's own
arguments (`secret="webhook-secret"`, naive `datetime` timestamps, `expires_in=3600`), and
reads only fields the V2 SDK's users read. It runs against this repository's package; put
the V2 project's `trust_gateway_sdk` first on PYTHONPATH instead to run that one unchanged.
WEBHOOK_URL must be reachable by the gateway (e.g. a local receiver allowed by
`WEBHOOK_ALLOW_NETS`): the README's `https://example.com/webhook` is not, offline.

Prints `v2 scenario ok` and exits 0, or raises at the first surprise.
"""

import asyncio
import sys
from datetime import datetime, timezone

from trust_gateway_sdk import TrustClient, TrustClientAsync


def expect(cond, what):
    if not cond:
        raise AssertionError(f"unexpected: {what!r}")


async def readme_async_session(base, key, webhook_url):
    async with TrustClientAsync(base, api_key=key) as client:
        agent = await client.register_agent(
            name="email-bot",
            provider="openai",
            spiffe_id="spiffe://example.org/agent/email-bot",
            config_hash="abc123",
            capabilities=["send_email", "read_inbox"],
            attestation={"type": "api_key"},
        )
        expect(agent["name"] == "email-bot" and agent["tier"] == 0, agent)
        expect(agent["composite_score"] == 0.1, agent)

        token_response = await client.issue_token(agent["id"], expires_in=3600)
        expect(token_response["token"].count(".") == 2, token_response)
        expect(token_response["expires_in"] == 3600 and token_response["tier"] == 0, token_response)
        expect(isinstance(token_response["permitted_actions"], list), token_response)

        card = await client.get_agent_card(agent["id"])
        expect(card["trust_score"] == 0.1 and card["trust_tier"] == 0, card)
        expect(card["capabilities"] == ["send_email", "read_inbox"], card)

        receipt = await client.record_action(agent["id"], "send_email", "success")
        expect(receipt["agent_id"] == agent["id"] and receipt["result"] == "success", receipt)
        expect(len(receipt["receipt_hash"]) == 64 and receipt["signature"], receipt)
        # A naive timestamp, as `datetime.utcnow().isoformat()` prints it.
        naive = datetime.now(timezone.utc).replace(tzinfo=None)
        second = await client.record_action(agent["id"], "read_inbox", "success", timestamp=naive)
        expect(second["previous_hash"] == receipt["receipt_hash"], (second, receipt))

        batch = await client.authorize_batch(
            agent["id"], actions=["send_email", "delete_file", "query_db"]
        )
        results = batch["results"]
        expect(set(results) == {"send_email", "delete_file", "query_db"}, batch)
        expect(results["delete_file"]["allowed"] is False, batch)
        expect(results["delete_file"]["required_tier"] == 3, batch)

        history = await client.get_trust_history(agent["id"])
        expect(len(history["history"]) >= 1, history)
        expect({"timestamp", "composite_score", "tier", "trigger"} <= set(history["history"][0]), history)

        webhook = await client.create_webhook(
            url=webhook_url,
            events=["tier_changed", "authorization_denied"],
            secret="webhook-secret",
        )
        expect(webhook["url"] == webhook_url and webhook["enabled"] is True, webhook)
        expect(webhook["events"] == ["tier_changed", "authorization_denied"], webhook)
        return agent["id"]


def readme_sync_session(base, key, async_agent):
    with TrustClient(base, api_key=key) as client:
        agent = client.register_agent(
            name="email-bot-sync",
            provider="openai",
            config_hash="abc123",
            capabilities=["send_email"],
        )
        token = client.issue_token(agent["id"])
        expect(token["expires_in"] == 3600 and token["token"], token)

        # The V2 SDK's remaining calls.
        expect(client.health_check()["status"] == "healthy", "health")
        got = client.get_agent(agent["id"])
        expect(got["id"] == agent["id"] and got["composite_score"] == got["trust_score"], got)
        breakdown = client.get_trust_breakdown(async_agent)
        for field in ("identity_score", "config_score", "behavior_score", "composite_score",
                      "tier", "tier_name", "weights", "factors"):
            expect(field in breakdown, (field, breakdown))
        decision = client.authorize(async_agent, "read_config", context={"ticket": "T-1"})
        expect(decision["allowed"] is True and decision["current_tier"] == 0, decision)
        denied = client.authorize(async_agent, "delete_database")
        expect(denied["allowed"] is False and denied["reason"], denied)

        tiers = client.get_tiers()
        expect([t["tier"] for t in tiers] == [0, 1, 2, 3], tiers)
        for t in tiers:
            expect({"name", "min_score", "max_score", "description", "permissions"} <= set(t), t)
        limited = tiers[1]
        updated = client.update_tier(
            tier=1,
            name="Limited",
            min_score=limited["min_score"],
            max_score=limited["max_score"],
            description="Basic actions, rate-limited, and mail",
            permissions=limited["permissions"] + ["send_email"],
        )
        expect(updated["description"] == "Basic actions, rate-limited, and mail", updated)
        expect("send_email" in updated["permissions"], updated)
        expect("send_email" in client.get_tiers()[1]["permissions"], "the edit is kept")

        receipts = client.get_receipts(async_agent)
        expect([r["action"] for r in receipts] == ["read_inbox", "send_email"], receipts)

        stats = client.get_stats()
        expect(stats["total_agents"] >= 2 and stats["total_actions"] >= 2, stats)
        expect(stats["recent_actions"] >= 2, stats)
        expect(sum(stats["trust_score_distribution"].values()) == stats["total_agents"], stats)
        expect(sum(stats["agents_by_tier"].values()) == stats["total_agents"], stats)

        hooks = client.list_webhooks()
        expect(isinstance(hooks, list) and len(hooks) >= 1, hooks)
        expect("url" in hooks[0] and "events" in hooks[0], hooks)


def main(base, key, webhook_url):
    agent = asyncio.run(readme_async_session(base, key, webhook_url))
    readme_sync_session(base, key, agent)
    print("v2 scenario ok")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
