"""Request handlers, by audience."""
