"""Calendar feeds: secret iCalendar subscription URLs per staff member and per chair."""
