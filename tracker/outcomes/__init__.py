"""Outcome measures: published instruments, their scoring, and the patient's scores over time."""
