"""The files the pages are made of, read once from the package and served with an ETag."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import attrs
from litestar import Request, Response
from litestar.datastructures import CacheControlHeader
from litestar.status_codes import HTTP_304_NOT_MODIFIED

MEDIA_TYPES = {
    ".html": "text/html",
    ".js": "text/javascript",
    ".css": "text/css",
}

# Always revalidated, so a new release is picked up at the next load; unchanged files cost a 304.
REVALIDATE = CacheControlHeader(no_cache=True)


@attrs.frozen
class Asset:
    body: bytes
    media_type: str
    etag: str

    @classmethod
    def read(cls, file: Path) -> Asset:
        body = file.read_bytes()
        return cls(body, MEDIA_TYPES[file.suffix], f'"{hashlib.sha256(body).hexdigest()[:32]}"')

    def response(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        headers = {"ETag": self.etag}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def read_directory(directory: Path) -> dict[str, Asset]:
    """Every servable file of `directory` by name (nothing else can be asked for)."""
    return {
        file.name: Asset.read(file)
        for file in sorted(directory.iterdir())
        if file.is_file() and file.suffix in MEDIA_TYPES
    }
