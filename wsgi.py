"""WSGI entry point for production servers: `gunicorn -w 4 wsgi:app`."""
from tracker import create_app

app = create_app()
