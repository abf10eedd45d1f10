"""The patient pages' blueprint with every view registered on it (the area's entry point)."""

from . import (  # noqa: F401  (each registers its views on bp)
    book_views,
    bp,  # noqa: F401
    check_in_views,
    checklist_views,
    offer_views,
    resend_views,
    staff_marks,
    visit_views,
)
