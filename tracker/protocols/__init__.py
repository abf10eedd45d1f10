"""Protocols (admins): the clinic's course templates and their phases."""
