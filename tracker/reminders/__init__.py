"""The reminders area."""
