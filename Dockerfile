# One image runs every Hongyun process; the container command picks the console script:
#   hongyun-gateway serve                HTTP gateway (FastAPI/uvicorn, port 8000)
#   hongyun-member serve                 member gRPC service (port 50051) with its outbox relay
#   hongyun-member migrate               member schema migrations  } one-shot jobs, run before
#   hongyun-gateway migrate              identity schema migrations } the servers start, never
#   hongyun-member provision-streams     NATS JetStream streams     } by the servers themselves
#   hongyun-learning serve               learning gRPC service (port 50052): courses, exams, training
#   hongyun-learning migrate             learning schema migrations; provision-streams: stream LEARNING
# Build:  docker build -t hongyun:dev .      (BuildKit, the default builder since Docker 23)
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ARG UV_VERSION=0.13.8
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
# The same uv release the Makefile uses, from PyPI.
RUN python -m pip install "uv==${UV_VERSION}"
WORKDIR /app

# Layer 1: third-party dependencies exactly as locked (--frozen: uv.lock is the only source; no
# resolution during the build). Rebuilt only when uv.lock or a pyproject.toml changes.
COPY pyproject.toml uv.lock ./
COPY libs/platform/pyproject.toml libs/platform/pyproject.toml
COPY libs/contracts/pyproject.toml libs/contracts/pyproject.toml
COPY services/member/pyproject.toml services/member/pyproject.toml
COPY services/learning/pyproject.toml services/learning/pyproject.toml
COPY gateway/pyproject.toml gateway/pyproject.toml
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages --no-install-workspace

# Layer 2: the workspace packages. They stay editable, exactly as on a developer machine, so code
# that finds files beside its sources (a service's migrations/ directory) behaves the same here.
COPY libs/ libs/
COPY services/ services/
COPY gateway/ gateway/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --all-packages \
 && /app/.venv/bin/python -m compileall -q libs services gateway

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# A fixed numeric UID/GID so Kubernetes can verify runAsNonRoot (the chart uses 10001 too).
RUN groupadd --system --gid 10001 hongyun \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin hongyun
WORKDIR /app
# Owned by root and not writable by the service user: the code cannot be changed at run time, and
# the container also runs with a read-only root filesystem (only /tmp is writable in the chart).
COPY --from=build /app /app
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
USER 10001:10001
EXPOSE 8000 50051
# Both servers handle SIGTERM themselves (graceful drain), so they can run as PID 1.
CMD ["hongyun-gateway", "serve"]
