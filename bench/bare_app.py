"""The baseline for gateway throughput: a bare FastAPI route on the same machine and server."""

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


@app.put("/progress/{item_id}")
async def progress(item_id: str, body: dict) -> dict:
    """The baseline for progress reports: a PUT with a small JSON body, parsed and echoed."""
    return {"item_id": item_id, "position": body.get("position", 0)}
