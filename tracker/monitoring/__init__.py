"""The monitoring sheet of a session: timed readings flagged against the clinic's ranges."""
