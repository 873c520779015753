"""`/docs`: an API's Swagger UI, served by the app itself from the `swagger-ui-bundle`
package, so that it works offline and under a Content-Security-Policy of `script-src 'self'`
(FastAPI's own page loads its scripts from a CDN and starts them with an inline script, both
of which that policy blocks; its ReDoc page loads from a CDN too). One router for both apps
that show their API: the console (ecoplan/web/app.py) and the standalone intake
(`ecoplan intake`, ecoplan/intake/service.py); each creates its FastAPI app with
`docs_url=None, redoc_url=None` and includes `router`. The page reads the app's own
/openapi.json and starts the UI with its own script, /docs/assets/docs.js
(ecoplan/web/static/docs.js); every file it loads is under /docs (`PATHS`: what an app that
gates its paths must leave open)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter()

STARTER = Path(__file__).resolve().parent / "web" / "static" / "docs.js"
ASSETS = {"swagger-ui.css": "text/css", "swagger-ui-bundle.js": "text/javascript",
          "favicon-32x32.png": "image/png", "docs.js": "text/javascript"}
PATHS = frozenset({"/docs", *(f"/docs/assets/{name}" for name in ASSETS)})

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>ecoplan API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi="/openapi.json"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/docs.js"></script></body></html>"""


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
    return FileResponse(STARTER if name == "docs.js" else assets_dir() / name, media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
