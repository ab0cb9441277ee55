"""Offline verification of gateway tokens, from the published JWKS alone.

What a tool server runs: no call to the gateway per request, only the JWKS (fetched once
and again when a token names a key it has not seen). Checks, as the gateway's own
verifier: EdDSA only (RFC 8725 §3.1: the algorithm is never taken from the token), `typ`
`JWT` when present (§3.11), the
key named by `kid`, `exp`/`nbf` with 30 s leeway, `iss`, `aud`, and `sub`, `jti`,
`iat` present. A revoked token stays valid offline until it expires: ask
`introspect_token` where that matters.

A DPoP-bound token (`cnf.jkt`, RFC 9449) verifies only with the request's `DPoP` proof:
`verify(token, dpop=proof, method="POST", url="https://tool/path")` checks the proof's
`typ`, algorithm (EdDSA or ES256), public `jwk`, signature, `htm`, `htu` (query and
fragment ignored), `iat` within five minutes, `ath` over the token, that its key's RFC 7638
thumbprint is the token's `cnf.jkt`, and that this verifier never saw it before.

`verify_security_event(set_jwt, audience)` checks a Security Event Token a Shared Signals
stream pushed (docs/SHARED_SIGNALS.md) against the same keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from typing import Any, Callable, Dict, Mapping, Optional, Tuple
from urllib.parse import urlsplit

import httpx
import jwt

#: The gateway's default issuer and audience.
ISSUER = "trust-gateway"
AUDIENCE = "trust-gateway"
LEEWAY_SECS = 30
#: A JWKS is fetched again for an unknown `kid` at most this often.
REFETCH_SECS = 60.0
#: A DPoP proof's `iat` may be this old, or this far ahead (RFC 9449 §11.1).
DPOP_MAX_AGE_SECS = 300
DPOP_FUTURE_SECS = 30
#: Most DPoP proofs remembered against replay; when that many are live, new ones are refused.
DPOP_REPLAY_CAPACITY = 100_000


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638: SHA-256 over the key's required members, sorted, no whitespace."""
    members = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}.get(jwk.get("kty"))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise TokenError("DPoP proof `jwk` is not a public Ed25519 or P-256 key")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _target(uri: str) -> Tuple[str, Optional[str], Optional[int], str]:
    """Scheme, host, port (defaults made explicit) and path: what `htu` is compared on."""
    parts = urlsplit(uri)
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path or "/"


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
        self._wall = time.time
        self._seen: Dict[Tuple[str, str], int] = {}
        self._seen_lock = threading.Lock()

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

    def verify(
        self,
        token: str,
        action: Optional[str] = None,
        dpop: Optional[str] = None,
        method: Optional[str] = None,
        url: Optional[str] = None,
    ) -> Dict[str, Any]:
        """The claims of a valid token; with `action`, it must be in `permitted_actions`.
        A DPoP-bound token needs `dpop` (the request's `DPoP` header), `method` and `url`."""
        claims = self._claims(token)
        cnf = claims.get("cnf")
        if cnf is not None:
            jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
            if not isinstance(jkt, str) or not jkt:
                raise TokenError("the token's `cnf` is invalid")
            if dpop is None or method is None or url is None:
                raise TokenError("the token is bound to a key (DPoP): present it with a DPoP proof")
            self._check_proof(token, dpop, method, url, jkt)
        elif dpop is not None:
            raise TokenError("the token is not bound to the DPoP proof's key")
        if action is not None and action not in claims.get("permitted_actions", []):
            raise TokenError(f"the token does not permit `{action[:64]}`")
        return claims

    def verify_security_event(self, set_jwt: str, audience: str) -> Dict[str, Any]:
        """A Security Event Token pushed to a Shared Signals stream (the request body at the
        stream's `endpoint_url`, `Content-Type: application/secevent+jwt`): EdDSA by a JWKS
        key, `typ` `secevent+jwt`, the verifier's issuer, `aud` = the stream's `aud`, `jti`
        and `iat` present, exactly one event. Returns the claims; deduplicate on `jti`."""
        claims = self._decode(
            set_jwt,
            "SET",
            lambda typ: str(typ).lower() == "secevent+jwt",
            audience,
            {"require": ["iat", "iss", "aud", "jti"], "verify_exp": False},
        )
        events = claims.get("events")
        if not isinstance(events, dict) or len(events) != 1:
            raise TokenError("a SET carries exactly one event")
        return claims

    def _claims(self, token: str) -> Dict[str, Any]:
        # Explicit typing (RFC 8725 §3.11): the gateway's other signatures (A2A cards,
        # export statements, SETs) carry other types and are never tokens.
        return self._decode(
            token,
            "token",
            lambda typ: typ is None or str(typ).upper() == "JWT",
            self.audience,
            {"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )

    def _decode(
        self,
        jws: str,
        what: str,
        typ_ok: Callable[[Any], bool],
        audience: str,
        options: Dict[str, Any],
    ) -> Dict[str, Any]:
        """EdDSA only, `typ` as `typ_ok` says, the key `kid` names; then PyJWT's claim checks."""
        try:
            header = jwt.get_unverified_header(jws)
        except jwt.PyJWTError as e:
            raise TokenError(f"malformed {what}: {e}") from None
        if header.get("alg") != "EdDSA":
            raise TokenError(f"algorithm `{str(header.get('alg'))[:16]}` is not accepted")
        typ = header.get("typ")
        if not typ_ok(typ):
            raise TokenError(f"JWS type `{str(typ)[:40]}` is not a {what}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenError(f"the {what} names no key (`kid`)")
        try:
            return jwt.decode(
                jws,
                self._key(kid).key,
                algorithms=["EdDSA"],
                audience=audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECS,
                options=options,
            )
        except jwt.PyJWTError as e:
            raise TokenError(str(e)) from None

    def _check_proof(self, token: str, proof: str, method: str, url: str, jkt: str) -> None:
        """RFC 9449 §4.3 and §7.1: the proof, for this request and token, by the bound key,
        once."""
        try:
            header = jwt.get_unverified_header(proof)
        except jwt.PyJWTError as e:
            raise TokenError(f"malformed DPoP proof: {e}") from None
        if header.get("typ") != "dpop+jwt":
            raise TokenError("DPoP proof `typ` must be `dpop+jwt`")
        alg = header.get("alg")
        if alg not in ("EdDSA", "ES256"):
            raise TokenError(f"DPoP proof algorithm `{str(alg)[:16]}` is not accepted")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict) or "d" in jwk:
            raise TokenError("DPoP proof `jwk` is not a public key")
        try:
            key = jwt.PyJWK.from_dict(dict(jwk), algorithm=alg)
            claims = jwt.decode(
                proof,
                key.key,
                algorithms=[alg],
                options={"verify_aud": False, "verify_iat": False, "require": ["jti", "htm", "htu", "iat"]},
            )
        except jwt.PyJWTError as e:
            raise TokenError(f"DPoP proof does not verify: {e}") from None
        if claims.get("htm") != method:
            raise TokenError("DPoP proof is for another method (`htm`)")
        htu = claims.get("htu")
        if not isinstance(htu, str) or _target(htu) != _target(url):
            raise TokenError("DPoP proof is for another URL (`htu`)")
        iat = claims.get("iat")
        if not isinstance(iat, int) or not -DPOP_FUTURE_SECS <= self._wall() - iat <= DPOP_MAX_AGE_SECS:
            raise TokenError("DPoP proof was issued too long ago or in the future")
        if claims.get("ath") != _b64url(hashlib.sha256(token.encode()).digest()):
            raise TokenError("DPoP proof `ath` does not match the access token")
        if jwk_thumbprint(jwk) != jkt:
            raise TokenError("DPoP proof's key is not the key the token is bound to")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise TokenError("DPoP proof has no `jti`")
        self._remember(jkt, jti, iat)

    def _remember(self, jkt: str, jti: str, iat: int) -> None:
        """Refuses a proof seen before; bounded, failing closed when full of live proofs."""
        with self._seen_lock:
            if (jkt, jti) in self._seen:
                raise TokenError("DPoP proof was used before (its `jti` was seen)")
            if len(self._seen) >= DPOP_REPLAY_CAPACITY:
                oldest = self._wall() - DPOP_MAX_AGE_SECS
                self._seen = {k: t for k, t in self._seen.items() if t >= oldest}
                if len(self._seen) >= DPOP_REPLAY_CAPACITY:
                    raise TokenError("too many live DPoP proofs to remember another")
            self._seen[(jkt, jti)] = iat
