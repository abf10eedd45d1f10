"""Staff accounts."""
import logging

from sqlalchemy import func, select

from ..extensions import db
from ..models import ROLES, User
from ..passwords import password_problem
from .errors import RuleError

log = logging.getLogger(__name__)


class StaffError(RuleError):
    """A staff account rule was broken."""


def create_user(*, email: str, role: str, password: str, name: str = "") -> User:
    """Add a staff account after checking the email, role and password policy."""
    email = (email or "").strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError("Enter a valid email address.", "email")
    if role not in ROLES:
        raise StaffError("Choose frontdesk, clinician or admin.", "role")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise StaffError("An account with this email already exists.", "email")
    problem = password_problem(password, email)
    if problem:
        raise StaffError(problem, "password")
    user = User(email=email, role=role, name=name.strip())
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    log.info("created %s account %s", role, user.id)
    return user
