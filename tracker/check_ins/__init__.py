"""Patient check-ins between sessions and clinically-due entries: the clinic's settings, and a
clinician accepting or dismissing an entry (the patient's own page is in tracker/patient_links)."""
