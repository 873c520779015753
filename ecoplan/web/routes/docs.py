"""`/docs`: the API's Swagger UI, served by the app itself from the `swagger-ui-bundle`
package, so that it works offline and under the console's Content-Security-Policy
(`script-src 'self'`: FastAPI's own page loads its scripts from a CDN and starts them with
an inline script, both of which that policy blocks). The page starts the UI with
/static/docs.js."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter()

ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
          "favicon-32x32.png": "image/png"}

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>ecoplan API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>"""


def assets_dir() -> Path:
    import swagger_ui_bundle

    return Path(str(swagger_ui_bundle.swagger_ui_path))


@router.get("/docs", include_in_schema=False)
async def docs() -> HTMLResponse:
    return HTMLResponse(PAGE)


@router.get("/docs/assets/{name}", include_in_schema=False)
async def asset(name: str):
    if name not in ASSETS:  # only the files the page uses: never a path from the request
        return HTMLResponse("没有此文件", status_code=404)
    return FileResponse(assets_dir() / name, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
