"""Offline token verification from the JWKS, against tokens the gateway issued."""

import base64
import json
import time

import pytest

from trust_gateway_sdk import TokenError, TokenVerifier


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.fixture
def token(client, agent):
    return client.issue_token(agent["id"], expires_in=600)


def test_a_gateway_token_verifies_offline(base_url, token, agent):
    v = TokenVerifier.from_gateway(base_url)
    claims = v.verify(token["token"])
    assert claims["sub"] == agent["id"] and claims["jti"] == token["jti"]
    assert claims["permitted_actions"] == token["permitted_actions"]
    assert v.verify(token["token"], action="read_config")["tier"] == 0
    with pytest.raises(TokenError, match="does not permit"):
        v.verify(token["token"], action="delete_database")


def test_forgeries_are_refused(client, token):
    v = TokenVerifier(client.get_jwks())
    header, payload, signature = token["token"].split(".")
    claims = json.loads(unb64(payload))
    claims["permitted_actions"] = ["delete_database"]
    forged = ".".join([header, b64(json.dumps(claims).encode()), signature])
    with pytest.raises(TokenError):
        v.verify(forged)
    unsigned = ".".join([b64(b'{"alg":"none","typ":"JWT"}'), payload, ""])
    with pytest.raises(TokenError, match="not accepted"):
        v.verify(unsigned)
    hs = json.loads(unb64(header))
    hs["alg"] = "HS256"
    with pytest.raises(TokenError, match="not accepted"):
        v.verify(".".join([b64(json.dumps(hs).encode()), payload, signature]))
    with pytest.raises(TokenError):
        v.verify("not.a.token")
    card = json.loads(unb64(header))
    card["typ"] = "JOSE"
    with pytest.raises(TokenError, match="not a token"):
        v.verify(".".join([b64(json.dumps(card).encode()), payload, signature]))


def test_issuer_audience_and_keys_are_checked(client, token):
    jwks = client.get_jwks()
    with pytest.raises(TokenError):
        TokenVerifier(jwks, audience="another-service").verify(token["token"])
    with pytest.raises(TokenError):
        TokenVerifier(jwks, issuer="someone-else").verify(token["token"])
    with pytest.raises(TokenError, match="unknown signing key"):
        TokenVerifier({"keys": []}).verify(token["token"])


def test_an_unknown_key_is_fetched_again_at_most_once_a_minute(client, token):
    now = [0.0]
    fetches = []

    def fetch():
        fetches.append(now[0])
        return client.get_jwks()

    v = TokenVerifier({"keys": []}, fetch=fetch, clock=lambda: now[0])
    with pytest.raises(TokenError):
        v.verify(token["token"])
    assert fetches == [], "just loaded: no refetch yet"
    now[0] = 61.0
    assert v.verify(token["token"])["jti"] == token["jti"]
    assert fetches == [61.0]


def _dpop(key, alg: str, jwk: dict, htm: str, htu: str, token=None, jti=None) -> str:
    """A DPoP proof (RFC 9449) made by PyJWT: an implementation independent of the gateway."""
    import hashlib
    import time
    import uuid

    import jwt

    claims = {"jti": jti or uuid.uuid4().hex, "htm": htm, "htu": htu, "iat": int(time.time())}
    if token is not None:
        claims["ath"] = b64(hashlib.sha256(token.encode()).digest())
    return jwt.encode(claims, key, algorithm=alg, headers={"typ": "dpop+jwt", "jwk": jwk})


def _p256():
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    numbers = key.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    return key, jwk


def test_a_dpop_bound_token_needs_a_fresh_proof_by_its_key(base_url, api_key, client, agent):
    import httpx

    from trust_gateway_sdk.tokens import jwk_thumbprint

    key, jwk = _p256()
    url = f"{base_url}/agents/{agent['id']}/token"
    r = httpx.post(url, headers={"X-API-Key": api_key, "DPoP": _dpop(key, "ES256", jwk, "POST", url)})
    assert r.status_code == 200, r.text
    grant = r.json()
    assert grant["token_type"] == "DPoP"
    token = grant["token"]

    v = TokenVerifier(client.get_jwks())
    tool = "https://tools.example/data"
    with pytest.raises(TokenError, match="bound to a key"):
        v.verify(token)
    proof = _dpop(key, "ES256", jwk, "GET", tool, token)
    claims = v.verify(token, dpop=proof, method="GET", url=tool + "?page=2")
    assert claims["cnf"]["jkt"] == jwk_thumbprint(jwk)
    with pytest.raises(TokenError, match="used before"):
        v.verify(token, dpop=proof, method="GET", url=tool)
    thief, thief_jwk = _p256()
    with pytest.raises(TokenError, match="not the key"):
        v.verify(token, dpop=_dpop(thief, "ES256", thief_jwk, "GET", tool, token), method="GET", url=tool)
    with pytest.raises(TokenError, match="another URL"):
        v.verify(token, dpop=_dpop(key, "ES256", jwk, "GET", "https://evil.example/data", token), method="GET", url=tool)
    with pytest.raises(TokenError, match="ath"):
        v.verify(token, dpop=_dpop(key, "ES256", jwk, "GET", tool, "another-token"), method="GET", url=tool)
    # A bearer token with a proof is refused too: a bound one was asked for.
    bearer = client.issue_token(agent["id"], expires_in=600)["token"]
    with pytest.raises(TokenError, match="not bound"):
        v.verify(bearer, dpop=_dpop(key, "ES256", jwk, "GET", tool, bearer), method="GET", url=tool)


def test_the_rfc_9449_example_key_has_the_rfcs_thumbprint():
    from trust_gateway_sdk.tokens import jwk_thumbprint

    jwk = {
        "kty": "EC",
        "x": "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
        "y": "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
        "crv": "P-256",
    }
    assert jwk_thumbprint(jwk) == "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"


def test_a_security_event_token_verifies_with_its_streams_audience():
    """`verify_security_event`: a SET as a Shared Signals stream pushes it (typ
    `secevent+jwt`, one event, the stream's `aud`); tokens, other audiences and SETs
    with two events are refused."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    import jwt

    key = Ed25519PrivateKey.generate()
    x = b64(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    v = TokenVerifier({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "kid": "k1"}]})
    revoked = "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
    claims = {
        "iss": "trust-gateway",
        "aud": "acc_1",
        "iat": int(time.time()),
        "jti": "msg_1-wh_1",
        "sub_id": {"format": "iss_sub", "iss": "trust-gateway", "sub": "agt_1"},
        "events": {revoked: {"event_timestamp": int(time.time())}},
    }

    def sign(c, typ="secevent+jwt"):
        return jwt.encode(c, key, algorithm="EdDSA", headers={"kid": "k1", "typ": typ})

    got = v.verify_security_event(sign(claims), "acc_1")
    assert got["jti"] == "msg_1-wh_1" and list(got["events"]) == [revoked]
    with pytest.raises(TokenError):
        v.verify_security_event(sign(claims), "acc_2")
    with pytest.raises(TokenError, match="not a SET"):
        v.verify_security_event(sign(claims, typ="JWT"), "acc_1")
    two = dict(claims, events={revoked: {}, "https://example.com/x": {}})
    with pytest.raises(TokenError, match="exactly one event"):
        v.verify_security_event(sign(two), "acc_1")
    # A SET is never a token.
    with pytest.raises(TokenError, match="not a token"):
        v.verify(sign(claims))
