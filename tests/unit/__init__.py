"""Unit tests: the core services on the memory adapters and a frozen clock."""
