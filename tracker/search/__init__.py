"""The header search: find a patient by name, MRN, date of birth, phone or email."""
