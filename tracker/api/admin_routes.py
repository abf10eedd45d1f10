"""The admin's API tokens page: issue a token (its secret shown once), see when each was last
used, revoke one."""

import logging

from flask import Blueprint, render_template, url_for
from sqlalchemy import select

from ..extensions import db
from ..models import ApiToken, User, utcnow
from ..saving import acting_user, commit, save
from ..security import roles_required
from .forms import SCOPE_CHOICES, NewTokenForm, RevokeForm
from .tokens import issue_token, revoke_token, tokens_listing

admin_bp = Blueprint("api_tokens", __name__, url_prefix="/admin/api-tokens")
log = logging.getLogger(__name__)


def _staff_choices() -> dict[str, str]:
    users = db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.email))
    return {
        "": "Choose a staff member",
        **{str(u.id): f"{u.label} ({u.email}, {u.role})" for u in users},
    }


def _page(
    form: NewTokenForm, *, secret: str | None = None, issued: ApiToken | None = None, status=200
):
    return render_template(
        "api_tokens/index.html",
        form=form,
        tokens=tokens_listing(),
        secret=secret,
        issued=issued,
        scopes=SCOPE_CHOICES,
        revoke_form=RevokeForm(formdata=None),
    ), status


@admin_bp.route("/", methods=["GET", "POST"])
@roles_required("admin")
def index():
    """Every token with its user, scope and last use; the form to issue a new one."""
    form = NewTokenForm()
    form.user_id.choices = _staff_choices()
    if form.validate_on_submit():
        user = db.get_or_404(User, int(form.user_id.data))
        saved = commit(
            form,
            lambda: issue_token(
                user, scope=form.scope.data, name=form.name.data or "", actor=acting_user()
            ),
        )
        if saved is not None:
            # The secret is shown in this response only (never stored, never in a redirect).
            token, secret = saved.result
            fresh = NewTokenForm(formdata=None)
            fresh.user_id.choices = _staff_choices()
            return _page(fresh, secret=secret, issued=token, status=201)
    return _page(form, status=400 if form.is_submitted() else 200)


@admin_bp.post("/<int:token_id>/revoke")
@roles_required("admin")
def revoke(token_id: int):
    """Revoke a token once the admin has ticked the box; it stops working at once."""
    token = db.get_or_404(ApiToken, token_id)
    form = RevokeForm()
    index_url = url_for(".index")
    return save(
        form,
        lambda: revoke_token(token, actor=acting_user(), now=utcnow()),
        message=lambda done: "Token revoked." if done else "That token was revoked already.",
        to=index_url,
        refused_to=index_url,
    )
