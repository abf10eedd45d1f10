"""The signature: HMAC-SHA256 over "<unix timestamp>.<body>" with the endpoint's secret, sent
as `Tracker-Signature: t=<timestamp>,v1=<hex>`. Receivers refuse a timestamp outside the
replay window."""

import hashlib
import hmac

from .. import secret_tokens

SIGNATURE_HEADER = "Tracker-Signature"
REPLAY_WINDOW_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret for an endpoint (kept as given: the tracker signs with it)."""
    return secret_tokens.new_secret("whsec_")


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The header value for a body sent at `timestamp` (Unix seconds)."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, now: int, tolerance: int = REPLAY_WINDOW_SECONDS
) -> bool:
    """True when the header signs this body with this secret within the replay window."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))
