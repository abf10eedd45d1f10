"""The patients area."""
