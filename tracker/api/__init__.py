"""The JSON API under /api/v1: bearer tokens only (a session cookie never authenticates it),
errors as problem documents, the OpenAPI document generated from the operations."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
