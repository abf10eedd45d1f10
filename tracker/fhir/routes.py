"""The FHIR blueprint with every interaction registered on it."""

from . import appointments, bp, outcomes, slots, views  # noqa: F401  (they register on bp)

outcomes.register(bp)

__all__ = ["bp"]
