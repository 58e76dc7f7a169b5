"""Entities, value objects, errors and events of NovaPulse."""
