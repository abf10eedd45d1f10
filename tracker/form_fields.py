"""Form fields every area shares: dates the database and the date rules can hold, and decimal
numbers read exactly (nothing typed is rounded away)."""

from datetime import date
from decimal import Decimal, InvalidOperation

from wtforms import fields
from wtforms.validators import StopValidation

from .services.clinic import MAX_YEAR, MIN_YEAR

MAX_NUMBER_LENGTH = 40  # characters of a typed number; longer is not a measurement


class BoundedDateField(fields.DateField):
    """A date in MIN_YEAR..MAX_YEAR: beyond that is a typing slip, and past what date sums allow."""

    def pre_validate(self, form):
        if isinstance(self.data, date) and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            raise StopValidation(f"Enter a date between {MIN_YEAR} and {MAX_YEAR}.")


class ExactDecimalField(fields.DecimalField):
    """A decimal number kept exactly as typed, with at most `places` decimal places.

    Refuses NaN and infinities, and any digit the database would round away (a dose of 1e-22
    is not 0.000), with a field error rather than a silent change.
    """

    def process_formdata(self, valuelist):
        self.data = None
        raw = (valuelist[0] if valuelist else "").strip()
        if not raw:
            return
        try:
            if len(raw) > MAX_NUMBER_LENGTH:
                raise InvalidOperation
            number = Decimal(raw)
        except InvalidOperation:
            raise ValueError("Enter a number.") from None
        if not number.is_finite():
            raise ValueError("Enter a number.")
        self.data = number

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()
        if isinstance(self.data, Decimal) and decimal_places(self.data) > (self.places or 0):
            raise StopValidation(f"Use at most {self.places} decimal places.")


def decimal_places(number: Decimal) -> int:
    """The decimal places a finite number needs, trailing zeros aside (5.000 needs none), counted
    exactly: no context rounding, so no digit typed is lost in the count."""
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int), "finite numbers only"
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - trailing)
