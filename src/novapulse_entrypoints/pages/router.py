"""Serve the pages and their assets under /ui with a strict Content-Security-Policy. The pages
hold no logic of their own on the server: HTML, CSS and ES modules that call the JSON API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get
from litestar.datastructures import ResponseHeader
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from novapulse_entrypoints.pages.assets import REVALIDATE, Asset, read_directory

HERE = Path(__file__).resolve().parent

PAGES = {
    "/": "signin.html",
    "/mfa": "mfa.html",
    "/webhooks": "webhooks.html",
    "/jobs": "jobs.html",
}

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",  # the QR code is an SVG drawn into an <img> from a data URL
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS = [
    ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="no-referrer"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
]


def _page(path: str, page: Asset, name: str) -> HTTPRouteHandler:
    async def serve_page(request: Request[Any, Any, Any]) -> Response[bytes]:
        return page.response(request)

    return get(path, name=f"ui-{name}", include_in_schema=False)(serve_page)


def _assets(assets: dict[str, Asset]) -> HTTPRouteHandler:
    async def serve_asset(request: Request[Any, Any, Any], name: FromPath[str]) -> Response[bytes]:
        asset = assets.get(name)
        if asset is None:
            raise NotFoundException(f"no asset {name!r}")
        return asset.response(request)

    return get("/assets/{name:str}", name="ui-assets", include_in_schema=False)(serve_asset)


def operator_pages() -> Router:
    """The /ui router: sign-in, MFA setup, webhooks and the job dashboard, and their assets."""
    html = read_directory(HERE / "html")
    return Router(
        path="/ui",
        route_handlers=[
            *(_page(path, html[file], Path(file).stem) for path, file in PAGES.items()),
            _assets(read_directory(HERE / "static")),
        ],
        response_headers=SECURITY_HEADERS,
        cache_control=REVALIDATE,
        include_in_schema=False,
    )
