"""Test helpers shared by the suites: the in-process MongoDB stand-in."""
