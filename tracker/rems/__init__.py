"""Esketamine REMS: a patient monitoring form for each session of a course that needs one."""
