"""The sandbox's settings, read once from the environment at start (faults also change at run time)."""

import os
from dataclasses import dataclass, field
from pathlib import Path

from .faults import Faults

DAY = 24 * 60 * 60
# The customers loaded at start and by POST /_sandbox/seed: the demo's Microsoft tenants, shipped here.
DEFAULT_SEED = str(Path(__file__).with_name("demo_customers.json"))


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _float(name: str, default: float) -> float:
    value = os.environ.get(name, "").strip()
    return float(value) if value else default


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8001
    # Its own storage: a SQLite file (":memory:" keeps everything in memory, gone at exit).
    db_path: str = "sandbox.sqlite3"
    # The one client the token endpoint knows (Entra ID app registration of the partner).
    client_id: str = "icp-sandbox-client"
    client_secret: str = "icp-sandbox-secret"
    token_seconds: int = 3600
    # An order stays "pending" this long after checkout, then "completed" with its subscriptions active.
    provisioning_seconds: float = 3.0
    # Partner Center: 500 requests a minute per customer tenant on the subscription resources.
    rate_limit_per_minute: int = 500
    # Carts expire 7 days from their creation (checkout-a-cart).
    cart_ttl_seconds: int = 7 * DAY
    # The same MS-RequestId is answered with the first answer for this long (24 h).
    idempotency_seconds: int = DAY
    max_quantity: int = 10000
    # A JSON file of customers ({"customers": [{"id", "domain", "companyName", ...}]}) the sandbox holds from
    # its start; "" loads none.
    seed_path: str = DEFAULT_SEED
    faults: Faults = field(default_factory=Faults)

    @classmethod
    def from_env(cls, **overrides) -> "Config":
        values = dict(
            host=os.environ.get("SANDBOX_HOST", "").strip() or "127.0.0.1",
            port=_int("SANDBOX_PORT", 8001),
            db_path=os.environ.get("SANDBOX_DB", "").strip() or "sandbox.sqlite3",
            client_id=os.environ.get("SANDBOX_CLIENT_ID", "").strip() or "icp-sandbox-client",
            client_secret=os.environ.get("SANDBOX_CLIENT_SECRET", "").strip() or "icp-sandbox-secret",
            token_seconds=_int("SANDBOX_TOKEN_SECONDS", 3600),
            provisioning_seconds=_float("SANDBOX_PROVISIONING_SECONDS", 3.0),
            rate_limit_per_minute=_int("SANDBOX_RATE_LIMIT_PER_MINUTE", 500),
            cart_ttl_seconds=_int("SANDBOX_CART_TTL_SECONDS", 7 * DAY),
            idempotency_seconds=_int("SANDBOX_IDEMPOTENCY_SECONDS", DAY),
            max_quantity=_int("SANDBOX_MAX_QUANTITY", 10000),
            # Unset: the shipped demo customers; set to "" (SANDBOX_SEED=): none.
            seed_path=os.environ.get("SANDBOX_SEED", DEFAULT_SEED).strip(),
            faults=Faults.from_env(),
        )
        values.update(overrides)
        return cls(**values)
