"""The email offering a waitlisted patient a freed chair time: when it may still go out, and
what it says (the day and time, until when the offer stands, and the link that accepts it)."""

from __future__ import annotations

from ..extensions import db
from ..models import WaitlistOffer
from .clock import Clock

KIND = "waitlist_offer"


def offer_verdict(reminder, clock: Clock) -> tuple[str, str] | None:
    """(status, reason) when the offer's email must not go out now, else None."""
    from ..services.waitlist import offer_state

    offer = db.session.get(WaitlistOffer, reminder.waitlist_offer_id or 0)
    if offer is None:
        return "cancelled", "offer removed"
    state = offer_state(offer, clock.now)
    if state == "expired":
        return "skipped", "offer expired"
    if state != "open":
        return "cancelled", "time already taken"
    return None


def offer_message(reminder, *, patient, settings):
    """ "An earlier time is free": the day and time, how long the offer stands, the link."""
    from ..formatting import style_for
    from ..patient_links.tokens import link_url
    from .messages import patient_message

    offer = db.session.get(WaitlistOffer, reminder.waitlist_offer_id or 0)
    if offer is None:  # offer_verdict said it exists; it went between the two reads
        raise LookupError("waitlist offer removed")
    style = style_for(settings)
    return patient_message(
        KIND,
        patient=patient,
        settings=settings,
        subject=f"An earlier time is free: {style.day(offer.start_at)} at {style.clock(offer.start_at)}",
        day=style.day(offer.start_at),
        time=style.clock(offer.start_at),
        until=f"{style.day(offer.expires_at)} at {style.clock(offer.expires_at)}",
        offer_url=link_url("offer", patient.id, offer.id),
    )
