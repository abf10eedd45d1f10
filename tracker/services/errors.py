"""A rule broken by an operation, tied to the form field it concerns."""


class RuleError(ValueError):
    """Raised by services; views put the message back on `field`."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class StaleRecord(RuleError):
    """The record changed after the form was opened: nothing is saved (the view answers 409)."""


def expect_version(record, submitted, noun: str) -> None:
    """Refuse a change made on a form that showed an older version of `record`.

    `submitted` is the form's hidden version; None or empty (a client that sends none) is not
    checked here, and the database's own version check still stops a write that crosses another.
    """
    if submitted in (None, ""):
        return
    if str(submitted).strip() != str(record.version):
        raise StaleRecord(
            f"Someone else changed this {noun} after you opened the page, so nothing "
            "was saved. The page now shows what is saved: check it, then try again."
        )
