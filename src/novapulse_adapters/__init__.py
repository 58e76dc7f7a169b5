"""Adapters: bindings of the core's ports to real infrastructure, and the in-memory test kit."""
