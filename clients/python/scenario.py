"""A realistic session through the client generated from /openapi.json, unedited.

Usage: python scenario.py BASE_URL API_KEY   (the generated package on PYTHONPATH)

Registers two agents, records behaviour, asks for decisions, issues and introspects a
token, delegates a task and records its outcome, exports the audit trail — and checks
every answer parses into the generated models. Exits non-zero on the first surprise.
"""

import sys

from trust_gateway_client import AuthenticatedClient
from trust_gateway_client.types import UNSET
from trust_gateway_client.api.agents import (
    get_a2a_agent_card,
    get_agent,
    get_agent_card,
    get_trust_breakdown,
    register_agent,
)
from trust_gateway_client.api.audit import export_audit
from trust_gateway_client.api.authorization import authorize_action, authorize_batch
from trust_gateway_client.api.delegations import (
    create_delegation,
    get_delegation_chain,
    record_delegation_outcome,
)
from trust_gateway_client.api.receipts import record_action, verify_receipt_chain
from trust_gateway_client.api.system import health
from trust_gateway_client.api.tokens import get_jwks, introspect_token, issue_token
from trust_gateway_client.models import (
    A2AProfile,
    AgentCard,
    AgentOut,
    AttestationType2,
    AttestationType2Type,
    AuditExportDocument,
    Authorized,
    AuthorizeRequest,
    BatchAuthorized,
    BatchRequest,
    Card,
    ChainReport,
    ChainView,
    DelegationOut,
    DelegationOutcome,
    DelegationRequest,
    ErrorBody,
    ExportAuditFormat,
    Feedback,
    Health,
    Introspection,
    IntrospectionRequest,
    Outcome,
    OutcomeRequest,
    RecordRequest,
    Recorded,
    RegisterRequest,
    TokenGrant,
    TrustBreakdown,
)


def expect(condition, what):
    if not condition:
        raise SystemExit(f"scenario failed: {what}")


def ok(response, model, status=200):
    """The parsed body of a successful answer, checked against the generated model."""
    expect(
        response.status_code == status,
        f"{response.status_code} instead of {status}: {response.content[:300]!r}",
    )
    expect(isinstance(response.parsed, model), f"{type(response.parsed)} is not {model}")
    return response.parsed


def main(base_url, api_key):
    client = AuthenticatedClient(
        base_url=base_url,
        token=api_key,
        prefix="",
        auth_header_name="X-API-Key",
        raise_on_unexpected_status=True,
    )
    status = ok(health.sync_detailed(client=client), Health)
    expect(status.status == "healthy", status)

    def register(name, capabilities, a2a=UNSET):
        body = RegisterRequest(
            name=name,
            provider="openai",
            config_hash="sha256-" + name,
            capabilities=capabilities,
            attestation=AttestationType2(type_=AttestationType2Type.API_KEY),
            a2a=a2a,
        )
        return ok(register_agent.sync_detailed(client=client, body=body), AgentOut, 201)

    planner = register("py-planner", ["plan"])
    worker = register(
        "py-worker", ["summarise", "send_email"], A2AProfile(url="https://agents.example.com/worker")
    )
    expect(worker.trust_tier == 0 and worker.verification_level == 1, worker)

    # Behaviour: six successes raise the worker's score and tier.
    last = None
    for _ in range(6):
        last = ok(
            record_action.sync_detailed(
                client=client,
                body=RecordRequest(agent_id=worker.id, action="read_data", result=Outcome.SUCCESS),
            ),
            Recorded,
            201,
        )
    expect(last.new_score > worker.trust_score, (last.new_score, worker.trust_score))
    expect(last.seq == 6 and len(last.signature) == 64 and last.previous_hash == last.prev_hash, last)
    chain = ok(verify_receipt_chain.sync_detailed(worker.id, client=client), ChainReport)
    expect(chain.valid and chain.length == 6, chain)

    breakdown = ok(get_trust_breakdown.sync_detailed(worker.id, client=client), TrustBreakdown)
    # Equal but for the activity decay of the milliseconds in between.
    expect(abs(breakdown.composite_score - last.new_score) < 1e-6, (breakdown, last.new_score))
    expect(len(breakdown.factors) == 5 and breakdown.trust_result.agent_id == worker.id, breakdown)
    card = ok(get_agent_card.sync_detailed(worker.id, client=client), Card)
    expect(card.total_actions == 6 and card.success_rate == 1.0, card)

    # Its signed A2A card, public, with the trust data in the extension.
    a2a_card = ok(get_a2a_agent_card.sync_detailed(worker.id, client=client), AgentCard)
    expect([s.id for s in a2a_card.skills] == ["summarise", "send_email"], a2a_card.skills)
    extension = a2a_card.capabilities.extensions[0]
    expect(extension.uri == "urn:trust-gateway:a2a:trust:v1", extension)
    expect(extension.params.agent_id == worker.id and len(a2a_card.signatures) == 1, extension)

    # Decisions: allowed, denied with a reason, and a batch.
    allowed = ok(
        authorize_action.sync_detailed(
            client=client, body=AuthorizeRequest(agent_id=worker.id, action="read_data")
        ),
        Authorized,
    )
    expect(allowed.allowed, allowed)
    denied = ok(
        authorize_action.sync_detailed(
            client=client, body=AuthorizeRequest(agent_id=worker.id, action="delete_database")
        ),
        Authorized,
    )
    expect(not denied.allowed and denied.reason != "Authorized", denied)
    batch = ok(
        authorize_batch.sync_detailed(
            client=client,
            body=BatchRequest(agent_id=worker.id, actions=["read_data", "delete_database"]),
        ),
        BatchAuthorized,
    )
    expect(batch.allowed_count == 1 and batch.denied_count == 1, batch)
    expect(batch.results["read_data"].allowed, batch.results)

    # A token for tool servers, and what introspection says of it.
    token = ok(issue_token.sync_detailed(worker.id, client=client, expires_in=600), TokenGrant)
    expect(token.alg == "EdDSA" and "read_data" in token.permitted_actions, token)
    jwks = get_jwks.sync_detailed(client=client)
    expect(jwks.status_code == 200 and len(jwks.parsed["keys"]) >= 1, jwks.content)
    seen = ok(
        introspect_token.sync_detailed(client=client, body=IntrospectionRequest(token=token.token)),
        Introspection,
    )
    expect(seen.active and seen.sub == worker.id, seen)

    # Delegation: the planner hands a task to the worker, which succeeds.
    delegation = ok(
        create_delegation.sync_detailed(
            client=client,
            body=DelegationRequest(
                from_agent=planner.id, to_agent=worker.id, task_type="summarise", threshold=1.0
            ),
        ),
        DelegationOut,
        201,
    )
    expect(delegation.depth == 1 and delegation.to_agent == worker.id, delegation)
    done = ok(
        record_delegation_outcome.sync_detailed(
            delegation.delegation_id,
            client=client,
            body=OutcomeRequest(outcome=DelegationOutcome.SUCCESS, feedback=Feedback.POSITIVE),
        ),
        DelegationOut,
    )
    expect(done.outcome == DelegationOutcome.SUCCESS, done)
    chain_view = ok(get_delegation_chain.sync_detailed(delegation.chain_id, client=client), ChainView)
    expect(chain_view.terminal_agent == worker.id, chain_view)

    # The audit trail, exported as one JSON document.
    export = ok(
        export_audit.sync_detailed(worker.id, client=client, format_=ExportAuditFormat.JSON),
        AuditExportDocument,
    )
    expect(export.agent_id == worker.id, export)
    expect(export.summary.total_events == len(export.events) > 0, export.summary)
    kinds = {e.event_type.value for e in export.events}
    expect({"agent_registered", "receipt_recorded", "token_issued"} <= kinds, kinds)

    # Errors parse too: an unknown agent is a typed 404.
    missing = get_agent.sync_detailed("ag_000000000000000000000000", client=client)
    expect(missing.status_code == 404 and isinstance(missing.parsed, ErrorBody), missing.content)
    expect(missing.parsed.code == "not_found", missing.parsed)

    print("scenario ok:", len(export.events), "audit events for", worker.id)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
