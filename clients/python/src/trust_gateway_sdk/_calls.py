"""Every endpoint, written once as a description of its HTTP request.

`Calls` holds one method per endpoint; each builds a `Call` and hands it to `_send`, which
the sync client runs at once and the async client returns as a coroutine. So
`TrustClient.get_agent(...)` answers and `await TrustClientAsync.get_agent(...)` answers,
from the same line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional

#: The header `GET /receipts/{agent_id}` names the next page's `before_seq` in.
NEXT_BEFORE_SEQ = "x-next-before-seq"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Optional[Mapping[str, Any]] = None
    json: Any = None


def _path(*segments: str) -> str:
    """`/a/b/c`, each segment percent-encoded (ids come from callers)."""
    from urllib.parse import quote

    return "/" + "/".join(quote(str(s), safe="") for s in segments)


def _without_none(d: Mapping[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def receipts_call(agent_id: str, limit: Optional[int], before_seq: Optional[int]) -> Call:
    params = _without_none({"limit": limit, "before_seq": before_seq})
    return Call("GET", _path("receipts", agent_id), params=params)


class Calls:
    """The endpoints. Subclasses define `_send(call)`."""

    def _send(self, call: Call) -> Any:  # pragma: no cover - defined by the clients
        raise NotImplementedError

    # ---- The V2 SDK's calls, with its names and signatures --------------------------

    def register_agent(
        self,
        name: str,
        provider: str,
        config_hash: str,
        capabilities: List[str],
        spiffe_id: Optional[str] = None,
        attestation: Optional[Dict[str, Any]] = None,
    ) -> Any:
        """Registers an agent; with `spiffe_id` and `attestation`, its identity is verified."""
        body = {
            "name": name,
            "provider": provider,
            "spiffe_id": spiffe_id,
            "config_hash": config_hash,
            "capabilities": capabilities,
            "attestation": attestation,
        }
        return self._send(Call("POST", "/agents/register", json=body))

    def get_agent(self, agent_id: str) -> Any:
        return self._send(Call("GET", _path("agents", agent_id)))

    def get_trust_breakdown(self, agent_id: str, min_state_version: Optional[int] = None) -> Any:
        """Every factor, weight and piece of evidence behind the score (a `trust_check`).
        With `min_state_version` (a `state_version` an earlier answer or write returned),
        answered on the agent's state at that version or later."""
        params = {} if min_state_version is None else {"min_state_version": min_state_version}
        return self._send(Call("GET", _path("agents", agent_id, "trust"), params=params))

    def get_trust_history(self, agent_id: str, limit: int = 100) -> Any:
        return self._send(
            Call("GET", _path("agents", agent_id, "history"), params={"limit": limit})
        )

    def get_agent_card(self, agent_id: str) -> Any:
        return self._send(Call("GET", _path("agents", agent_id, "card")))

    def issue_token(self, agent_id: str, expires_in: int = 3600) -> Any:
        return self._send(
            Call("POST", _path("agents", agent_id, "token"), params={"expires_in": expires_in})
        )

    def record_action(
        self,
        agent_id: str,
        action: str,
        result: str,
        timestamp: Optional[datetime] = None,
        token: Optional[str] = None,
    ) -> Any:
        """Records what the agent did. `timestamp` without a timezone is read as UTC.
        With the agent's `token`, another account reports as a witness."""
        body: Dict[str, Any] = {"agent_id": agent_id, "action": action, "result": result}
        if timestamp is not None:
            body["timestamp"] = timestamp.isoformat()
        if token is not None:
            body["token"] = token
        return self._send(Call("POST", "/actions/record", json=body))

    def authorize(
        self,
        agent_id: str,
        action: str,
        context: Optional[Dict] = None,
        min_state_version: Optional[int] = None,
    ) -> Any:
        """May the agent do `action` now? With `min_state_version` (a `state_version` an
        earlier answer or write returned), decided on the agent's state at that version or
        later (read-your-writes); a version never written is a 409."""
        body: Dict[str, Any] = {"agent_id": agent_id, "action": action}
        if context:
            body["context"] = context
        if min_state_version is not None:
            body["min_state_version"] = min_state_version
        return self._send(Call("POST", "/authorize", json=body))

    def authorize_batch(
        self, agent_id: str, actions: List[str], min_state_version: Optional[int] = None
    ) -> Any:
        body: Dict[str, Any] = {"agent_id": agent_id, "actions": actions}
        if min_state_version is not None:
            body["min_state_version"] = min_state_version
        return self._send(Call("POST", "/authorize/batch", json=body))

    def get_tiers(self) -> Any:
        return self._send(Call("GET", "/tiers"))

    def update_tier(
        self,
        tier: int,
        name: str,
        min_score: float,
        max_score: float,
        description: str,
        permissions: List[str],
    ) -> Any:
        """Replaces a tier (operator admin key). `permissions` become exactly what it permits."""
        body = {
            "tier": tier,
            "name": name,
            "min_score": min_score,
            "max_score": max_score,
            "description": description,
            "permissions": permissions,
        }
        return self._send(Call("PUT", _path("tiers", tier), json=body))

    def get_receipts(
        self, agent_id: str, limit: Optional[int] = None, before_seq: Optional[int] = None
    ) -> Any:
        """One page of receipts, newest first (`limit` default 100; `iter_receipts` walks
        them all)."""
        return self._send(receipts_call(agent_id, limit, before_seq))

    def get_stats(self) -> Any:
        return self._send(Call("GET", "/stats"))

    def create_webhook(self, url: str, events: List[str], secret: Optional[str] = None) -> Any:
        """Without `secret` a `whsec_` one is generated and returned once."""
        return self._send(
            Call("POST", "/config/webhooks", json={"url": url, "events": events, "secret": secret})
        )

    def list_webhooks(self) -> Any:
        return self._send(Call("GET", "/config/webhooks"))

    def health_check(self) -> Any:
        return self._send(Call("GET", "/health"))

    # ---- Tokens ------------------------------------------------------------------

    def introspect_token(self, token: str) -> Any:
        """RFC 7662: `{"active": false}` for a revoked, expired or foreign token."""
        return self._send(Call("POST", "/tokens/introspect", json={"token": token}))

    def revoke_token(
        self,
        token: Optional[str] = None,
        *,
        jti: Optional[str] = None,
        agent_id: Optional[str] = None,
    ) -> Any:
        """Revokes a token: the token itself, or its `jti` with its `agent_id`."""
        body = _without_none({"token": token, "jti": jti, "agent_id": agent_id})
        return self._send(Call("POST", "/tokens/revoke", json=body))

    def get_jwks(self) -> Any:
        return self._send(Call("GET", "/.well-known/jwks.json"))

    # ---- Agents: lifecycle, discovery, identity -------------------------------------

    def list_agents(self, offset: int = 0, limit: int = 100) -> Any:
        return self._send(Call("GET", "/agents", params={"offset": offset, "limit": limit}))

    def discover_agents(self, query: str, offset: int = 0, limit: int = 20) -> Any:
        params = {"query": query, "offset": offset, "limit": limit}
        return self._send(Call("GET", "/agents/discover", params=params))

    def suspend_agent(self, agent_id: str, reason: Optional[str] = None) -> Any:
        return self._lifecycle(agent_id, "suspend", reason)

    def reactivate_agent(self, agent_id: str, reason: Optional[str] = None) -> Any:
        return self._lifecycle(agent_id, "reactivate", reason)

    def revoke_agent(self, agent_id: str, reason: Optional[str] = None) -> Any:
        return self._lifecycle(agent_id, "revoke", reason)

    def _lifecycle(self, agent_id: str, verb: str, reason: Optional[str]) -> Any:
        return self._send(
            Call("POST", _path("agents", agent_id, verb), json=_without_none({"reason": reason}))
        )

    def report_config(self, agent_id: str, config_hash: str) -> Any:
        return self._send(
            Call("POST", _path("agents", agent_id, "config"), json={"config_hash": config_hash})
        )

    def get_audit_trail(self, agent_id: str, **params: Any) -> Any:
        return self._send(Call("GET", _path("agents", agent_id, "audit"), params=params))

    def verify_receipt_chain(self, agent_id: str) -> Any:
        return self._send(Call("GET", _path("receipts", agent_id, "verify")))

    def export_receipts(self, agent_id: str) -> Any:
        """The whole chain with the gateway's signed statement over it."""
        return self._send(Call("GET", _path("receipts", agent_id, "export")))

    # ---- Trust between agents: Joy verification, delegations, vouches ---------------

    def _verify_call(
        self, agent_id: Optional[str], min_score: float, agent_name: Optional[str]
    ) -> Call:
        body = _without_none({"agent_id": agent_id, "agent_name": agent_name})
        body["min_score"] = min_score
        return Call("POST", "/trust/verify", json=body)

    def create_delegation(
        self,
        to_agent: str,
        task_type: str,
        threshold: float,
        *,
        from_agent: Optional[str] = None,
        parent_delegation_id: Optional[str] = None,
        token: Optional[str] = None,
    ) -> Any:
        """Delegates `task_type` to `to_agent`, if it meets `threshold` (Joy's 0–5)."""
        body = _without_none(
            {
                "to_agent": to_agent,
                "task_type": task_type,
                "threshold": threshold,
                "from_agent": from_agent,
                "parent_delegation_id": parent_delegation_id,
                "token": token,
            }
        )
        return self._send(Call("POST", "/delegations", json=body))

    def get_delegation(self, delegation_id: str) -> Any:
        return self._send(Call("GET", _path("delegations", delegation_id)))

    def accept_delegation(self, delegation_id: str) -> Any:
        return self._send(Call("POST", _path("delegations", delegation_id, "accept")))

    def record_delegation_outcome(
        self, delegation_id: str, outcome: str, notes: Optional[str] = None
    ) -> Any:
        body = _without_none({"outcome": outcome, "notes": notes})
        return self._send(Call("PATCH", _path("delegations", delegation_id, "outcome"), json=body))

    def create_vouch(
        self,
        agent_id: str,
        from_agent: str,
        weight: float,
        *,
        note: Optional[str] = None,
        signature: Optional[str] = None,
    ) -> Any:
        body = _without_none(
            {"from_agent": from_agent, "weight": weight, "note": note, "signature": signature}
        )
        return self._send(Call("POST", _path("agents", agent_id, "vouches"), json=body))

    def list_vouches(self, agent_id: str) -> Any:
        return self._send(Call("GET", _path("agents", agent_id, "vouches")))

    # ---- Policy ------------------------------------------------------------------

    def list_actions(self) -> Any:
        return self._send(Call("GET", "/actions"))

    def put_action(self, name: str, required_tier: int, min_score: float) -> Any:
        body = {"required_tier": required_tier, "min_score": min_score}
        return self._send(Call("PUT", _path("actions", name), json=body))

    # ---- Live ----------------------------------------------------------------------

    def issue_live_ticket(self) -> Any:
        """A single-use ticket for `/ws/dashboard` (what `WebSocketDashboard` uses)."""
        return self._send(Call("POST", "/ws/ticket"))


def denial(min_score: float, agent_id: Optional[str], error: str) -> Dict[str, Any]:
    """The Joy `TrustResult` a fail-closed `verify` answers when the gateway cannot."""
    return {
        "agent_id": agent_id,
        "agent_name": None,
        "trust_score": 0.0,
        "verified": False,
        "meets_threshold": False,
        "threshold_used": min_score,
        "vouch_count": 0,
        "evidence_count": 0,
        "capabilities": [],
        "tier": None,
        "badges": [],
        "last_activity": None,
        "withheld": True,
        "error": error,
        "provider": "trust-gateway",
        "provider_version": None,
    }


JOY_SCALE = 5.0


def checked_threshold(min_score: float) -> Optional[str]:
    """Why `min_score` cannot be asked for, if it cannot."""
    ok = isinstance(min_score, (int, float)) and 0.0 <= float(min_score) <= JOY_SCALE
    return None if ok else "`min_score` must be between 0 and 5"


def believed(
    r: Any, min_score: float, agent_id: Optional[str], agent_name: Optional[str]
) -> Dict[str, Any]:
    """The answer, unless it is not a `TrustResult` or says "meets" but cannot be believed:
    then a denial that says why (as the Rust SDK's `verify`)."""
    if not isinstance(r, dict) or not isinstance(r.get("meets_threshold"), bool):
        return denial(min_score, agent_id, "trust check failed closed: not a TrustResult")
    if not r["meets_threshold"]:
        return r
    score = r.get("trust_score")
    why = None
    if r.get("error") is not None:
        why = "an error is reported"
    elif r.get("withheld"):
        why = "the trust data is withheld"
    elif not isinstance(score, (int, float)) or score != score or score < min_score:
        why = "the score is below the threshold"
    elif r.get("threshold_used") != min_score:
        why = "another threshold was checked"
    elif (agent_id is not None and r.get("agent_id") != agent_id) or (
        agent_name is not None and r.get("agent_name") != agent_name
    ):
        why = "the answer is about another agent"
    if why is None:
        return r
    return {**r, "meets_threshold": False, "error": f"inconsistent answer, denied: {why}"}
