"""The baseline for material downloads: the same file served by Starlette's StaticFiles on
uvicorn (no signature check, no object-store lookup). BENCH_STATIC_DIR names the directory."""

import os

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

app = Starlette(routes=[Mount("/", app=StaticFiles(directory=os.environ["BENCH_STATIC_DIR"]))])
