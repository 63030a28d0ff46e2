"""ASGI app factories the benchmarks serve: uvicorn imports them in the server process."""

from __future__ import annotations

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from microfactory.channels.shopify.verify import verify


def bare_webhook_app() -> FastAPI:
    """The least a correct webhook endpoint does: read the body and check its signature."""
    secret = os.environ["MICROFACTORY_SHOPIFY_WEBHOOK_SECRET"]
    app = FastAPI()

    @app.post("/webhooks/shopify")
    async def bare(request: Request) -> JSONResponse:
        body = await request.body()
        if not verify(secret, body, request.headers.get("x-shopify-hmac-sha256")):
            return JSONResponse({"error": "invalid signature"}, status_code=401)
        return JSONResponse({"status": "received"})

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
