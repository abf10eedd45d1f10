"""Login loading, role checks, security headers."""
from functools import wraps
from urllib.parse import urlsplit

from flask import abort, g, render_template, request
from flask_login import current_user, login_required

from .extensions import db, login_manager

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def init_security(app):
    """Wire Flask-Login, trust the configured proxies, and add security headers to every response."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from .config import is_production

    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:  # the login throttle counts failures per client address: take it from the proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    hsts = is_production(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @app.template_global()
    def idle_timeout_seconds() -> int:
        """The clinic's idle timeout, for the warning script."""
        from .services.clinic import get_settings

        return idle_minutes(get_settings()) * 60

    @app.before_request
    def refuse_nul_characters():
        """NUL is never typed by a person and PostgreSQL cannot store it: refuse it everywhere
        (path, query string, form), so no query fails on it later. Other control characters
        get field-level errors from the forms."""
        texts = [request.path]
        sources = [request.args] + ([request.form] if request.method in ("POST", "PUT", "PATCH") else [])
        for source in sources:
            for key, values in source.lists():
                texts.append(key)
                texts.extend(values)
        if any("\x00" in text for text in texts):
            if request.path.startswith("/api/"):
                from .api.problems import problem_response

                return problem_response(400, "The request holds a NUL character.")
            from .fhir.outcomes import is_fhir_path, outcome_response

            if is_fhir_path(request.path):
                return outcome_response(400, "The request holds a NUL character.")
            return render_template("errors/error.html", code=400, title="Bad request",
                                   text="The request holds a NUL character, which cannot be stored. "
                                        "Remove it and try again."), 400
        return None

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


@login_manager.user_loader
def load_user(token: str):
    """The user of the open session whose token the cookie holds; None once it has ended,
    expired or sat idle past the clinic's idle timeout (the server enforces it)."""
    from datetime import timedelta

    from .models import utcnow
    from .services.clinic import get_settings
    from .services.sessions import live_session, touch

    now = utcnow()
    # Held for the request: the identity map keeps only weak references, and later reads of
    # the settings in this request then need no query of their own.
    g.clinic_settings = get_settings()
    found = live_session(token, now, timedelta(minutes=idle_minutes(g.clinic_settings)))
    if found is None:
        return None
    staff_session, user = found
    user.session_token = token
    g.staff_session = staff_session
    if touch(staff_session, now):
        db.session.commit()
    return user


def idle_minutes(settings) -> int:
    """The clinic's idle timeout in minutes (at least 1)."""
    return max(1, int(settings.idle_timeout_minutes or 30))


def roles_required(*roles: str):
    """Login required, and the user must hold one of the roles (admin holds all); else 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles
        return wrapped

    return decorator


def local_path(target: str | None) -> str | None:
    """`target` when it is a path on this site, else None. A browser reads a backslash as a
    slash, so "/\\evil.example" would leave the site like "//evil.example"."""
    if not target or not target.startswith("/") or "\\" in target or target.startswith("//"):
        return None
    if any(ord(char) < 32 for char in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def can(role_group: str) -> bool:
    """Template helper: may the current user do clinical / admin work?"""
    groups = {"clinical": ("clinician",), "admin": ("admin",), "frontdesk": ("frontdesk", "clinician")}
    return current_user.is_authenticated and current_user.has_role(*groups[role_group])
