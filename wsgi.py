"""WSGI entry point for production servers: `gunicorn -w 4 wsgi:app`.

Behind a reverse proxy set TRACKER_PROXY_COUNT to the number of proxies in front of gunicorn
(usually 1): client addresses (login throttling) and the https scheme then come from the
proxy's X-Forwarded-* headers. Leave it unset when clients connect to gunicorn directly, or
anyone could choose their own address.
"""
from werkzeug.middleware.proxy_fix import ProxyFix

from tracker import create_app

app = create_app()
_proxies = int(app.config.get("PROXY_COUNT") or 0)
if _proxies:
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=_proxies, x_proto=_proxies, x_host=_proxies)
