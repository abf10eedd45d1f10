"""Importing clinic history from CSV files (`flask --app tracker import`)."""
