"""The Litestar HTTP API."""

from novapulse_entrypoints.api.app import create_app, create_app_from_env

__all__ = ["create_app", "create_app_from_env"]
