"""NovaPulse core: the pure domain, its ports and its services (no infrastructure imports)."""
