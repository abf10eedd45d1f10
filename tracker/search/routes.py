"""Routes of the search area: the results page (a plain GET form) and the type-ahead's JSON."""

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from flask_login import login_required

from ..extensions import db
from ..formatting import request_style
from ..services import clinic, search
from ..services.clinic import get_settings

bp = Blueprint("search", __name__, url_prefix="/search")


def _query() -> search.SearchQuery:
    return search.parse(
        request.args.get("q"), date_order=get_settings().date_order, today=clinic.clinic_today()
    )


@bp.get("/")
@login_required
def results():
    """Every patient the query finds, one page at a time; works without JavaScript."""
    query = _query()
    statement = None if query.is_empty else search.patients_statement(query)
    page = None
    if statement is not None:
        page = db.paginate(
            statement,
            per_page=current_app.config.get("PAGE_SIZE", 50),
            max_per_page=100,
            error_out=False,
            count=True,
        )
    return render_template(
        "search/results.html",
        query=query,
        page=page,
        rows=list(page.items) if page is not None else [],
        date_order=get_settings().date_order,
    )


@bp.get("/suggest")
@login_required
def suggest():
    """At most ten patients for the header's type-ahead, as JSON: who, born, MRN, phone, link."""
    query = _query()
    rows, more = ([], False) if query.is_empty else search.suggestions(db.session, query)
    style = request_style()  # the type-ahead shows "born" as the pages do
    response = jsonify(
        query=query.text,
        problem=query.problem,
        more=more,
        all_url=url_for(".results", q=query.text) if query.text else None,
        results=[
            {
                "id": row.id,
                "name": f"{row.last_name}, {row.first_name}",
                "mrn": row.mrn,
                "born": style.day(row.date_of_birth),
                "phone": row.phone or "",
                "url": url_for("patients.detail", patient_id=row.id),
            }
            for row in rows
        ],
    )
    response.headers["Cache-Control"] = "no-store"
    return response
