"""Checks a Trust Gateway agent card with the A2A project's own Python SDK (a2a-sdk).

Usage: python verify_a2a_card.py CARD.json JWKS.json
Parses the card strictly into the SDK's AgentCard (unknown fields refused), checks the
fields the A2A specification marks REQUIRED, verifies its signature with the SDK's
verifier and the key the gateway's JWKS names, and checks a tampered copy is refused.
"""

import copy
import json
import sys

from google.protobuf.json_format import ParseDict
from jwt import PyJWK

from a2a.types import AgentCard
from a2a.utils.proto_utils import validate_proto_required_fields
from a2a.utils.signing import InvalidSignaturesError, create_signature_verifier


def main(card_path, jwks_path):
    with open(card_path, encoding="utf-8") as f:
        raw = json.load(f)
    with open(jwks_path, encoding="utf-8") as f:
        keys = {k["kid"]: k for k in json.load(f)["keys"]}

    card = ParseDict(raw, AgentCard())  # strict: an unknown field raises
    validate_proto_required_fields(card)

    def key_for(kid, jku):
        if kid not in keys:
            raise SystemExit(f"kid {kid!r} is not in the gateway's JWKS")
        return PyJWK(keys[kid])

    verify = create_signature_verifier(key_for, ["EdDSA"])
    verify(card)

    tampered = copy.deepcopy(raw)
    tampered["capabilities"]["extensions"][0]["params"]["trust_score"] = 1.0
    try:
        verify(ParseDict(tampered, AgentCard()))
    except InvalidSignaturesError:
        pass
    else:
        raise SystemExit("a tampered card verified")
    print("a2a card ok:", card.name, len(card.skills), "skills")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
