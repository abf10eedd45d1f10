"""Staff accounts."""
import logging

from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, User
from ..passwords import password_problem
from ..validators import CONTROL_RE, email_problem, normalized_email
from .audit import record, snapshot
from .errors import RuleError

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
    user.role, user.name, user.active = role, name, bool(active)
    db.session.flush()
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="update",
           before=before, after=snapshot(user, USER_FIELDS))
    log.info("updated account %s", user.id)
    return user


def reset_password(actor: User, user: User, password: str) -> User:
    """Set a new password (policy checked) and lift any login lock."""
    problem = password_problem(password or "", user.email)
    if problem:
        raise StaffError(problem, "password")
    user.set_password(password)
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="reset_password")
    log.info("password reset for account %s", user.id)
    return user


def unlock_user(actor: User, user: User) -> User:
    """Lift a login lock before it runs out."""
    before = {"locked_until": user.locked_until.isoformat() if user.locked_until else None}
    user.failed_logins = 0
    user.locked_until = None
    db.session.flush()
    record(actor, entity="user", entity_id=user.id, patient_id=None, action="unlock",
           before=before, after={"locked_until": None})
    log.info("unlocked account %s", user.id)
    return user
