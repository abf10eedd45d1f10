"""A rule broken by an operation, tied to the form field it concerns."""


class RuleError(ValueError):
    """Raised by services; views put the message back on `field`."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
