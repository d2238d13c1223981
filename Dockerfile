# mltrainer image: a virtual environment in /opt/venv with the dependencies, the mltrainer
# wheel built in a stage of its own, a non-root user and the data home on a volume.
#
#   make image                      # docker or podman, whichever has a working engine
#   make image-test                 # no registry needed: a debootstrap base, build, run, checks
#
# Keys are never part of the image: pass them when the container runs
# (`-e OPENAI_API_KEY` or `--env-file .env`). .dockerignore keeps `.env` out of the context.
#
# Build arguments:
#   BASE_IMAGE    any Debian-like image with python3 >= 3.11 and its venv module
#                 (default python:3.12-slim; make image-test uses a local debootstrap base)
#   PIP_INDEX_URL an index to install from instead of PyPI (optional)
# Build secret (optional): `--secret id=pip-ca,src=/path/to/ca-bundle.crt` gives pip a CA
# bundle for a TLS-intercepting proxy. A secret is mounted for one RUN only and is in no layer.
ARG BASE_IMAGE=python:3.12-slim

# Stage 1: what the app needs from the system: the OpenMP runtime LightGBM's wheel links
# (python:*-slim lacks it; the local debootstrap base has it, so the no-registry build never
# reaches for apt here), the user the app runs as, and its data home.
FROM ${BASE_IMAGE} AS system
RUN set -eu; \
    if ! ldconfig -p | grep -q 'libgomp\.so\.1'; then \
        apt-get update; \
        apt-get install -y --no-install-recommends libgomp1; \
        rm -rf /var/lib/apt/lists/*; \
    fi; \
    groupadd --gid 10001 mltrainer; \
    useradd --uid 10001 --gid mltrainer --home-dir /home/mltrainer --create-home \
        --shell /usr/sbin/nologin mltrainer; \
    mkdir -p /data; \
    chown mltrainer:mltrainer /data

# Stage 2: the dependencies in /opt/venv, resolved from pyproject.toml alone, so a change to
# the source reuses this layer (several hundred MB) instead of downloading it again.
FROM system AS deps
ARG PIP_INDEX_URL=
COPY pyproject.toml /tmp/mltrainer-deps/
RUN --mount=type=secret,id=pip-ca \
    set -eu; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    if [ -n "${PIP_INDEX_URL}" ]; then export PIP_INDEX_URL; else unset PIP_INDEX_URL; fi; \
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=120; \
    python3 -m venv /opt/venv; \
    python3 -c 'import tomllib; print("\n".join(tomllib.load(open("/tmp/mltrainer-deps/pyproject.toml", "rb"))["project"]["dependencies"]))' \
        > /tmp/mltrainer-deps/requirements.txt; \
    /opt/venv/bin/python -m pip install --upgrade pip setuptools wheel; \
    /opt/venv/bin/python -m pip install -r /tmp/mltrainer-deps/requirements.txt; \
    rm /tmp/mltrainer-deps/requirements.txt

# Stage 3: the mltrainer wheel, built offline with the setuptools of stage 2.
FROM deps AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY api ./api
COPY agent ./agent
COPY tools ./tools
COPY engine ./engine
COPY prompts ./prompts
RUN /opt/venv/bin/python -m pip wheel --no-deps --no-build-isolation --no-index --wheel-dir /wheels .

# Stage 4: the image that runs: stage 2 plus the wheel; no source tree, no build secret.
FROM deps AS runtime
# COPY (not a bind mount) so the layer cache sees a changed wheel; only these small layers
# change when the source does.
COPY --from=wheel /wheels /tmp/mltrainer-wheels
RUN /opt/venv/bin/python -m pip install --no-deps --no-index --no-cache-dir \
        --disable-pip-version-check /tmp/mltrainer-wheels/*.whl \
    && rm -rf /tmp/mltrainer-wheels \
    && /opt/venv/bin/mltrainer --help > /dev/null
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MLTRAINER_HOME=/data
# Ledger, market cache, transcripts and model files: everything a session keeps.
VOLUME ["/data"]
WORKDIR /data
USER mltrainer:mltrainer
EXPOSE 8000
# Python turns SIGINT into KeyboardInterrupt even as PID 1, where SIGTERM would be ignored.
STOPSIGNAL SIGINT

# The long-running interface: the MCP streamable-HTTP server with Prometheus metrics on
# /metrics (issue 11). The health check asks that endpoint. To serve something else, change
# these two instructions together (or pass a command to `docker run IMAGE ...`).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/metrics', timeout=4)"]
CMD ["mltrainer", "mcp", "--http", "--host", "0.0.0.0", "--port", "8000"]
