"""Helpers for the API tests."""


def bearer(secret: str, **more) -> dict:
    """Headers carrying the token."""
    return {"Authorization": f"Bearer {secret}", **more}
