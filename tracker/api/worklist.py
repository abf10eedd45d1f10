"""API: the worklist, in the page's order (unbooked first, most urgent first)."""

from zoneinfo import ZoneInfo

from ..scheduling import WORKLIST_STATUSES
from ..services import search
from ..services.clinic import clinic_today, get_settings
from ..status import clock_for
from ..worklist.queries import worklist_page
from .operations import STANDARD_ERRORS, operation, query_args
from .present import instant, page_document
from .schemas import WorklistPage, WorklistQuery


@operation(
    "/worklist",
    summary="The worklist",
    tag="worklist",
    query=WorklistQuery,
    response=WorklistPage,
    errors=STANDARD_ERRORS,
)
def worklist():
    """Patients due, overdue or lapsed, or whose series is interrupted, on today's date:
    unbooked first, then the most urgent, as on the worklist page; filter by `status`,
    `booked` and the header search's `q`."""
    args = query_args(WorklistQuery)
    settings = get_settings()
    clock = clock_for(clinic_today(), settings)
    zone = ZoneInfo(settings.timezone)
    statuses = (args["status"],) if args["status"] else WORKLIST_STATUSES
    text = " ".join((args["q"] or "").split())
    query = search.parse(text, date_order=settings.date_order, today=clock.on) if text else None
    page = worklist_page(
        clock,
        statuses=statuses,
        booked=args["booked"],
        search=query,
        page=args["page"],
        per_page=args["per_page"],
    )
    items = [
        {
            "patient_id": row.patient_id,
            "mrn": row.mrn,
            "first_name": row.first_name,
            "last_name": row.last_name,
            "status": row.status,
            "anchor_date": _iso(row.anchor_date),
            "window_opens": _iso(row.window_opens),
            "window_closes": _iso(row.window_closes),
            "booked": bool(row.booked),
            "next_appointment": instant(row.next_appointment, zone),
        }
        for row in page.items
    ]
    document = page_document(items, page=page.page, per_page=page.per_page, total=page.total)
    return {"on": clock.on.isoformat(), **document}


def _iso(day) -> str | None:
    return day.isoformat() if day is not None else None
