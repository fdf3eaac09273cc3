"""The baseline: a bare ASGI endpoint on the same framework and server as the service."""

from fastapi import FastAPI

app = FastAPI()


@app.post("/echo", status_code=201)
async def echo() -> dict[str, bool]:
    return {"ok": True}
