"""The one module that makes, keeps and checks secrets handed out once."""

import hashlib

from tracker import secret_tokens


def test_a_hash_stored_before_still_verifies():
    """Rows written before this module (a plain SHA-256 hex of the secret) still match."""
    secret = "trk_" + "x" * 43
    stored_before = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    assert secret_tokens.stored_form(secret) == stored_before
    assert secret_tokens.verifies(secret, stored_before)
    assert not secret_tokens.verifies(secret + "y", stored_before)


def test_new_secrets_are_long_prefixed_and_different():
    """A new secret carries its kind's prefix and 32 random bytes; two are never the same."""
    first, second = secret_tokens.new_secret("whsec_"), secret_tokens.new_secret("whsec_")
    assert first.startswith("whsec_") and len(first) >= len("whsec_") + 43
    assert first != second


def test_only_plausible_secrets_are_looked_up():
    """Empty, overlong or wrongly prefixed secrets are refused before any lookup."""
    assert secret_tokens.presentable("trk_abc", "trk_")
    assert not secret_tokens.presentable("", "")
    assert not secret_tokens.presentable(None)
    assert not secret_tokens.presentable("abc", "trk_")
    assert not secret_tokens.presentable("trk_" + "a" * 100, "trk_")
