"""The SDK's tests run against a live gateway: TG_BASE_URL and TG_API_KEY (an operator
admin key) name it. The Rust test `python_sdk` starts one and runs them."""

import os
import uuid

import pytest

from trust_gateway_sdk import TrustClient


@pytest.fixture(scope="session")
def base_url():
    return os.environ["TG_BASE_URL"]


@pytest.fixture(scope="session")
def api_key():
    return os.environ["TG_API_KEY"]


@pytest.fixture
def client(base_url, api_key):
    with TrustClient(base_url, api_key=api_key) as c:
        yield c


@pytest.fixture
def agent(client):
    """A fresh agent with a unique name."""
    return client.register_agent(
        name=f"agent-{uuid.uuid4().hex[:8]}",
        provider="openai",
        config_hash="sha256-abc",
        capabilities=["send_email"],
        attestation={"type": "api_key"},
    )
