"""Offline token verification from the JWKS, against tokens the gateway issued."""

import base64
import json

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
