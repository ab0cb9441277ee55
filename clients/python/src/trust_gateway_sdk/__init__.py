"""Trust Gateway's Python client.

- `TrustClient` / `TrustClientAsync`: the V2 SDK's clients, same names and signatures
  (errors are `httpx.HTTPStatusError`), plus the newer endpoints and a fail-closed `verify`.
- `WebSocketDashboard`: the live feed; `api_key=` gets it a ticket.
- `TokenVerifier`: offline verification of gateway tokens from the published JWKS.
"""

from .client import TrustClient, TrustClientAsync
from .dashboard import WebSocketDashboard
from .tokens import TokenError, TokenVerifier

__all__ = [
    "TrustClient",
    "TrustClientAsync",
    "WebSocketDashboard",
    "TokenVerifier",
    "TokenError",
]
__version__ = "0.1.0"
