"""The API's documentation page, working offline: Swagger UI from a package.

FastAPI's default /docs loads Swagger UI from a CDN and shows a blank page without internet.
Here the assets come from the swagger-ui-bundle-v2 package (Swagger UI 5, which reads the
OpenAPI 3.1 that FastAPI writes), and the page's one script is a file of ours, so the page
runs under a Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import html

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

SWAGGER_ASSETS = "/static/swagger"
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

_INIT = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    persistAuthorization: false
  });
});
"""


def _docs_page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} - API</title>
<link rel="stylesheet" href="{SWAGGER_ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{SWAGGER_ASSETS}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER_ASSETS}/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """/docs (offline Swagger UI) and its assets (the pages at ``/`` are the web app's)."""
    app.mount(SWAGGER_ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-assets")
    docs_page = _docs_page(app.title)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(docs_page, headers={"content-security-policy": DOCS_CSP})

    @app.get("/docs/init.js", include_in_schema=False)
    async def docs_script() -> Response:
        return Response(_INIT, media_type="text/javascript")
