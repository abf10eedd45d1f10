"""WSGI entry point for production servers: `gunicorn -w 4 wsgi:app`.

Behind a reverse proxy set TRACKER_TRUSTED_PROXIES to the number of proxies in front of
gunicorn (usually 1): client addresses (login throttling) and the https scheme then come from
the proxy's X-Forwarded-* headers. Leave it unset when clients connect to gunicorn directly, or
anyone could choose their own address.
"""
from tracker import create_app
from tracker.log_config import configure_logging

app = create_app()
configure_logging(app.config["LOG_LEVEL"])
