"""Signed webhooks: admin-registered endpoints, an outbox of deliveries, HMAC-SHA256 signatures."""
