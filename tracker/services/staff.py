"""Staff accounts."""
import logging

from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, LoginAttempt, User, utcnow
from ..passwords import password_problem
from ..validators import CONTROL_RE, email_problem, normalized_email
from .audit import record, snapshot
from .errors import RuleError
from .sessions import end_sessions

log = logging.getLogger(__name__)

USER_FIELDS = ("name", "role", "active")


class StaffError(RuleError):
    """A staff account rule was broken."""


def _clean_name(name: str | None) -> str:
    name = (name or "").strip()
    if len(name) > 120:
        raise StaffError("Use at most 120 characters.", "name")
    if CONTROL_RE.search(name) or "\n" in name or "\r" in name:
        raise StaffError("Remove the control characters from this field.", "name")
    return name


def create_user(*, email: str, role: str, password: str, name: str = "", actor=None) -> User:
    """Add a staff account after checking the email, role and password policy."""
    email = (normalized_email((email or "").strip()) or "").lower()
    problem = email_problem(email)
    if problem:
        raise StaffError(problem, "email")
    if role not in ROLES:
        raise StaffError("Choose frontdesk, clinician or admin.", "role")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise StaffError("An account with this email already exists.", "email")
    problem = password_problem(password, email)
    if problem:
        raise StaffError(problem, "password")
    name = _clean_name(name)
    user = User(email=email, role=role, name=name)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    if actor is not None:
        record(actor, entity="user", entity_id=user.id, patient_id=None, action="create",
               after=snapshot(user, ("email",) + USER_FIELDS))
    log.info("created %s account %s", role, user.id)
    return user


def update_user(actor: User, user: User, *, role: str, name: str, active: bool) -> User:
    """Change a staff account's role, name and active flag; admins cannot demote or
    deactivate themselves (so the clinic always keeps the admin who is doing this)."""
    if role not in ROLES:
        raise StaffError("Choose frontdesk, clinician or admin.", "role")
    name = _clean_name(name)
    if actor is not None and actor.id == user.id:
        if role != user.role:
            raise StaffError("You cannot change your own role; ask another admin.", "role")
        if not active:
            raise StaffError("You cannot deactivate your own account.", "active")
    before = snapshot(user, USER_FIELDS)
    role_changed, deactivated = role != user.role, user.active and not active
    user.role, user.name, user.active = role, name, bool(active)
    db.session.flush()
    if role_changed or deactivated:  # their open sessions carry the old rights: end them
        end_sessions(user.id, "deactivated" if deactivated else "role_changed", utcnow())
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="update",
           before=before, after=snapshot(user, USER_FIELDS))
    log.info("updated account %s", user.id)
    return user


def reset_password(actor: User, user: User, password: str) -> User:
    """Set a new password (policy checked), end the user's sessions and lift any login hold."""
    problem = password_problem(password or "", user.email)
    if problem:
        raise StaffError(problem, "password")
    user.set_password(password)
    end_sessions(user.id, "password_reset", utcnow())
    _lift_hold(user)
    db.session.flush()
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="reset_password")
    log.info("password reset for account %s", user.id)
    return user


def change_own_password(user: User, current: str, password: str, keep_session: int | None) -> int:
    """A user's own new password: the current one must be right; every other session of theirs
    ends. Returns how many ended."""
    if not user.check_password(current or ""):
        raise StaffError("This is not your current password.", "current")
    problem = password_problem(password or "", user.email)
    if problem:
        raise StaffError(problem, "password")
    if user.check_password(password):
        raise StaffError("Choose a password different from the current one.", "password")
    user.set_password(password)
    ended = end_sessions(user.id, "password_changed", utcnow(), keep=keep_session)
    db.session.flush()
    record(user, entity="user", entity_id=user.id, patient_id=None, action="change_password")
    log.info("account %s changed its password", user.id)
    return ended


def _lift_hold(user: User) -> None:
    """End the account's run of failed logins (the throttle reads it from the attempts log)."""
    db.session.add(LoginAttempt(email=user.email, ip="", outcome="unlocked", user_id=user.id))


def unlock_user(actor: User, user: User) -> User:
    """Lift a login hold before it runs out."""
    _lift_hold(user)
    db.session.flush()
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="unlock")
    log.info("unlocked account %s", user.id)
    return user
