"""The operator pages: a static browser client of the JSON API, served under /ui."""

from novapulse_entrypoints.pages.router import CONTENT_SECURITY_POLICY, operator_pages

__all__ = ["CONTENT_SECURITY_POLICY", "operator_pages"]
