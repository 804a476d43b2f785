"""The API docs (`/docs`: Swagger UI, `/redoc`: ReDoc) served from local assets.

FastAPI's default pages load their JavaScript and CSS from a CDN: a third party's code runs
with the page's origin (where a user may have pasted a token), and the docs break offline.
The same assets ship in the `fastapi-offline` wheel; they are served here under
`/docs/assets/`, and each page carries a CSP that allows scripts from this origin plus only the
page's own inline script (by hash) — no other origin appears anywhere in the pages.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse

from timemachine.errors import NotFoundError

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_PATH = "/docs/assets"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def docs_csp(html: str) -> str:
    """A CSP for a docs page: this origin only, plus the page's inline scripts by hash."""
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]
    return "; ".join(
        [
            "default-src 'none'",
            " ".join(["script-src 'self'", *hashes]),
            "style-src 'self' 'unsafe-inline'",  # both UIs set inline styles
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",  # the schema, and "try it out" on this API
            "worker-src 'self' blob:",  # ReDoc's search worker
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def _page(response: HTMLResponse) -> HTMLResponse:
    html = bytes(response.body).decode()
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html)})


def docs_router(app: FastAPI) -> APIRouter:
    """Routes for `/docs`, its OAuth2 redirect, `/redoc` and their assets (none in the schema).
    Build the app with `docs_url=None, redoc_url=None` so FastAPI's CDN pages are not added."""
    router = APIRouter(include_in_schema=False)
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    def page(
        render: Callable[..., HTMLResponse], label: str, urls: Mapping[str, str], **options: Any
    ) -> Callable[[Request], HTMLResponse]:
        """A docs page: `render` with the app's title and `urls` under the request's root path."""

        def endpoint(request: Request) -> HTMLResponse:
            root = request.scope.get("root_path", "")
            rooted = {keyword: f"{root}{path}" for keyword, path in urls.items()}
            return _page(render(title=f"{title} - {label}", **rooted, **options))

        return endpoint

    router.get("/docs", name="swagger_ui")(
        page(
            get_swagger_ui_html,
            "Swagger UI",
            {
                "openapi_url": openapi_url,
                "oauth2_redirect_url": redirect_url,
                "swagger_js_url": f"{ASSETS_PATH}/swagger-ui-bundle.js",
                "swagger_css_url": f"{ASSETS_PATH}/swagger-ui.css",
                "swagger_favicon_url": f"{ASSETS_PATH}/favicon.png",
            },
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
    )
    router.get("/redoc", name="redoc")(
        page(
            get_redoc_html,
            "ReDoc",
            {
                "openapi_url": openapi_url,
                "redoc_js_url": f"{ASSETS_PATH}/redoc.standalone.js",
                "redoc_favicon_url": f"{ASSETS_PATH}/favicon.png",
            },
            with_google_fonts=False,
        )
    )

    @router.get(redirect_url)
    def swagger_ui_redirect() -> HTMLResponse:
        return _page(get_swagger_ui_oauth2_redirect_html())

    @router.get(ASSETS_PATH + "/{name}")
    def asset(name: str) -> FileResponse:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise NotFoundError(f"no docs asset {name!r}")
        return FileResponse(
            ASSETS_DIR / name,
            media_type=media_type,
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return router
