"""Offline verification of gateway tokens, from the published JWKS alone.

What a tool server runs: no call to the gateway per request, only the JWKS (fetched once
and again when a token names a key it has not seen). Checks, as the gateway's own
verifier: EdDSA only (RFC 8725 §3.1: the algorithm is never taken from the token), `typ`
`JWT` when present (§3.11), the
key named by `kid`, `exp`/`nbf` with 30 s leeway, `iss`, `aud`, and `sub`, `jti`,
`iat` present. A revoked token stays valid offline until it expires: ask
`introspect_token` where that matters.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Dict, Mapping, Optional

import httpx
import jwt

#: The gateway's default issuer and audience.
ISSUER = "trust-gateway"
AUDIENCE = "trust-gateway"
LEEWAY_SECS = 30
#: A JWKS is fetched again for an unknown `kid` at most this often.
REFETCH_SECS = 60.0


class TokenError(Exception):
    """The token is not a valid gateway token (or does not permit the action)."""


class TokenVerifier:
    """`TokenVerifier.from_gateway(url)` or `TokenVerifier(jwks_dict)`; then
    `verify(token, action=None)` → the token's claims, or `TokenError`."""

    def __init__(
        self,
        jwks: Mapping[str, Any],
        issuer: str = ISSUER,
        audience: str = AUDIENCE,
        fetch: Optional[Callable[[], Mapping[str, Any]]] = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.issuer = issuer
        self.audience = audience
        self._fetch = fetch
        self._clock = clock
        self._fetched_at = clock()
        self._keys = self._load(jwks)

    @classmethod
    def from_gateway(
        cls, base_url: str, issuer: str = ISSUER, audience: str = AUDIENCE, timeout: float = 10.0
    ) -> "TokenVerifier":
        """Fetches `/.well-known/jwks.json` now, and again for keys it has not seen."""
        url = base_url.rstrip("/") + "/.well-known/jwks.json"

        def fetch() -> Mapping[str, Any]:
            r = httpx.get(url, timeout=timeout)
            r.raise_for_status()
            return r.json()

        return cls(fetch(), issuer, audience, fetch=fetch)

    @staticmethod
    def _load(jwks: Mapping[str, Any]) -> Dict[str, Any]:
        keys: Dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            # Only the Ed25519 keys tokens are signed with; anything else is not ours to use.
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or "kid" not in jwk:
                continue
            keys[jwk["kid"]] = jwt.PyJWK.from_dict(dict(jwk), algorithm="EdDSA")
        return keys

    def _key(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None and self._fetch is not None and self._may_refetch():
            self._fetched_at = self._clock()
            self._keys = self._load(self._fetch())
            key = self._keys.get(kid)
        if key is None:
            raise TokenError(f"unknown signing key `{kid[:64]}`")
        return key

    def _may_refetch(self) -> bool:
        """At most once per `REFETCH_SECS`: forged `kid`s cannot make us hammer the gateway."""
        return self._clock() - self._fetched_at >= REFETCH_SECS

    def verify(self, token: str, action: Optional[str] = None) -> Dict[str, Any]:
        """The claims of a valid token; with `action`, it must be in `permitted_actions`."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as e:
            raise TokenError(f"malformed token: {e}") from None
        if header.get("alg") != "EdDSA":
            raise TokenError(f"algorithm `{str(header.get('alg'))[:16]}` is not accepted")
        # Explicit typing (RFC 8725 §3.11): the gateway's other signatures (A2A cards,
        # export statements) carry other types and are never tokens.
        typ = header.get("typ")
        if typ is not None and str(typ).upper() != "JWT":
            raise TokenError(f"JWS type `{str(typ)[:40]}` is not a token")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenError("the token names no key (`kid`)")
        try:
            claims = jwt.decode(
                token,
                self._key(kid).key,
                algorithms=["EdDSA"],
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECS,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            )
        except jwt.PyJWTError as e:
            raise TokenError(str(e)) from None
        if action is not None and action not in claims.get("permitted_actions", []):
            raise TokenError(f"the token does not permit `{action[:64]}`")
        return claims
