"""The schedule area."""
