"""The page that marks a record entered in error: the reason asked for, the version checked,
then the change saved through saving.save (the record stays, struck out)."""

from collections.abc import Callable
from typing import Any

from flask import render_template, request
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField
from wtforms.validators import InputRequired, Length

from .models import utcnow
from .models.in_error import REASON_MAX, EnteredInError
from .saving import acting_user, refused_status, save
from .services.errors import expect_version
from .services.in_error import already_marked
from .validators import NoControlCharacters


class EnteredInErrorForm(FlaskForm):
    """Mark a record entered in error: the reason is required (the record stays, struck out)."""

    reason = StringField(
        "Why was this entered in error?",
        validators=[
            InputRequired(message="Say why this was entered in error."),
            Length(max=REASON_MAX),
            NoControlCharacters(),
        ],
    )
    version = HiddenField()  # the record's version when the page was opened


def confirm_in_error(
    record,
    *,
    noun: str,
    mark: Callable[..., Any],
    template: str,
    message: str,
    to: str,
    problem: str | None = None,
    lock: Callable[[], Any] | None = None,
    page: dict | Callable[[], dict] | None = None,
):
    """GET: the confirm page for `record`; POST: mark it, then redirect (303) to `to`.

    `mark(record, actor=, reason=, now=)` is the service call; `lock()` reloads the row to change
    (locked) when the service wants that; `problem`, or the record struck out already, shows
    instead of the form. `page` holds (or builds, after a refused save) the template's values.
    """
    form = EnteredInErrorForm()
    if problem is None and isinstance(record, EnteredInError) and record.in_error:
        problem = already_marked(noun)
    if problem is None and record is not None and form.validate_on_submit():

        def change():
            target = lock() if lock is not None else record
            expect_version(target, form.version.data, noun)
            return mark(target, actor=acting_user(), reason=form.reason.data, now=utcnow())

        response = save(form, change, message=message, to=to, validate=False)
        if response is not None:
            return response
    if request.method == "GET" and record is not None:
        form.version.data = str(record.version)
    values = page() if callable(page) else dict(page or {})
    status = refused_status(form) if request.method == "POST" else 200
    return render_template(template, form=form, problem=problem, **values), status
