"""The one way a view saves: validate, call the service, commit once, redirect.

A service raises RuleError (services/errors.py) for a broken rule; the view rolls back and the
message goes on the form field it names, or above the form. Services flush and never commit;
the commit here is the only one of a request.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from flask import flash, redirect
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from .extensions import db
from .models import User
from .services.errors import RuleError, StaleRecord

T = TypeVar("T")


def acting_user() -> User:
    """The logged-in staff member, as the services' `actor`."""
    return current_user._get_current_object()


def put_error(form, error: RuleError, field: str | None = None) -> None:
    """A rule error back on its form field (or `field`), else on the form as a whole; with no
    form (a one-button action) it is flashed."""
    if form is None:
        flash(str(error), "error")
        return
    name = field or error.field
    target = _field_named(form, name) if name else None
    if target is not None and hasattr(target, "errors") and hasattr(target, "label"):
        target.errors = [*(target.errors or []), str(error)]
    else:
        form.form_errors.append(str(error))


def _field_named(form, name: str):
    """The form's field `name`, or a field inside one of its lists of subforms by its full
    name (`phases-1-first`)."""
    direct = getattr(form, name, None)
    if direct is not None:
        return direct
    for field in form:
        for entry in getattr(field, "entries", ()):
            for sub in getattr(entry, "form", ()):
                if sub.name == name:
                    return sub
    return None


def refuse_stale(form, error: StaleRecord) -> None:
    """A change refused because the record moved on: above the form, and the form marked stale."""
    put_error(form, RuleError(str(error)))
    if form is not None:
        form.stale = True


def refused_status(form) -> int:
    """The status of a page showing a refused form again: 409 when the record moved on, else 400."""
    return 409 if getattr(form, "stale", False) else 400


def flash_errors(form) -> None:
    """Every message on the form as a flash, for views that redirect instead of re-showing it."""
    for messages in form.errors.values():
        for message in messages:
            flash(message, "error")


@dataclass(frozen=True)
class Saved(Generic[T]):
    """What the service returned, once the change is committed."""

    result: T


def commit(
    form,
    change: Callable[[], T],
    *,
    on_duplicate: RuleError | None = None,
    field_for: Callable[[RuleError], str | None] | None = None,
) -> Saved[T] | None:
    """Run the service call and commit once; on a rule error roll back, put it on the form, None.

    `on_duplicate` is the message for a unique key taken by another user a moment earlier;
    `field_for` moves an error to the field the person was choosing on this form.
    """
    try:
        result = change()
        db.session.commit()
    except StaleDataError:  # another request updated the row between our read and our write
        db.session.rollback()
        refuse_stale(
            form,
            StaleRecord(
                "Someone else saved a change to this record a moment ago, so "
                "nothing was saved. Check what is shown now, then try again."
            ),
        )
        return None
    except StaleRecord as error:
        db.session.rollback()
        refuse_stale(form, error)
        return None
    except RuleError as error:
        db.session.rollback()
        put_error(form, error, field_for(error) if field_for else None)
        return None
    except IntegrityError:
        db.session.rollback()
        if on_duplicate is None:
            raise
        put_error(form, on_duplicate)
        return None
    return Saved(result)


def save(
    form,
    change: Callable[[], T],
    *,
    message: str | Callable[[T], str],
    to: str | Callable[[T], str],
    validate: bool = True,
    refused_to: str | None = None,
    **options: Any,
):
    """For a valid form: commit the change, flash `message`, redirect (303) to `to`.

    `message` and `to` may be functions of the service's result. None when the form is invalid
    or the rule error is back on it (the view shows the form again); with `refused_to`, a page
    with no form to re-show, the errors are flashed and the browser sent there instead.
    """
    saved = None
    if not validate or (form is not None and form.validate_on_submit()):
        saved = commit(form, change, **options)
    if saved is None:
        if refused_to is None:
            return None
        if form is not None:
            flash_errors(form)
        return redirect(refused_to, 303)
    flash(message(saved.result) if callable(message) else message, "success")
    return redirect(to(saved.result) if callable(to) else to, 303)
