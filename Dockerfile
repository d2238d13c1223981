# mltrainer image: a virtual environment in /opt/venv with the dependencies and the chat (the
# `ui` extra), the mltrainer wheel built in a stage of its own, a non-root user and the data home
# on a volume. One image, two long-running surfaces over the same data home:
#
#   docker run -p 8000:8000 -v mltrainer-home:/data IMAGE
#       the default: the MCP server (streamable HTTP, /metrics); authenticated with a bearer token
#   docker run -p 8501:8501 -v mltrainer-home:/data -e MLTRAINER_UI_TOKEN IMAGE \
#       mltrainer ui --host 0.0.0.0 --port 8501
#       the chat (the seed's Streamlit UI); visitors enter MLTRAINER_UI_TOKEN before any page
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
#   EXTRAS        the pyproject.toml extras to install, comma-separated (default ui, the chat;
#                 empty for the MCP server and the CLI alone: 742 MB instead of 1,015 MB)
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

# Stage 2: the dependencies in /opt/venv, resolved from pyproject.toml alone (its dependencies
# and the EXTRAS), so a change to the source reuses this layer (several hundred MB) instead of
# downloading it again. The libraries' own test suites (`tests/` folders, 142 MB that
# nothing imports at run time) are removed in the same step, so no layer keeps them.
FROM system AS deps
ARG PIP_INDEX_URL=
ARG EXTRAS=ui
COPY pyproject.toml /tmp/mltrainer-deps/
RUN --mount=type=secret,id=pip-ca \
    set -eu; \
    if [ -s /run/secrets/pip-ca ]; then export PIP_CERT=/run/secrets/pip-ca; fi; \
    if [ -n "${PIP_INDEX_URL}" ]; then export PIP_INDEX_URL; else unset PIP_INDEX_URL; fi; \
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_DEFAULT_TIMEOUT=120; \
    python3 -m venv /opt/venv; \
    python3 -c 'import sys, tomllib; project = tomllib.load(open(sys.argv[1], "rb"))["project"]; optional = project["optional-dependencies"]; extras = [e.strip() for e in sys.argv[2].split(",") if e.strip()]; unknown = [e for e in extras if e not in optional]; sys.exit(f"EXTRAS names {unknown}, which pyproject.toml does not have; it has {sorted(optional)}") if unknown else print("\n".join(project["dependencies"] + [r for e in extras for r in optional[e]]))' \
        /tmp/mltrainer-deps/pyproject.toml "${EXTRAS}" > /tmp/mltrainer-deps/requirements.txt; \
    /opt/venv/bin/python -m pip install --upgrade pip setuptools wheel; \
    /opt/venv/bin/python -m pip install -r /tmp/mltrainer-deps/requirements.txt; \
    find /opt/venv/lib -type d -name tests -prune -exec rm -rf {} +; \
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
    MLTRAINER_HOME=/data \
    MLTRAINER_UI_ALLOW_REMOTE=1
# MLTRAINER_UI_ALLOW_REMOTE is `mltrainer ui --allow-remote`: inside a container the chat must
# bind 0.0.0.0 to be reachable through a published port at all, and whether it is reachable is
# decided by `-p` (or compose's `ports`). It does not lift the token: without MLTRAINER_UI_TOKEN
# (or MLTRAINER_UI_TOKEN_FILE) the chat refuses to start.
# Ledger, market cache, transcripts and model files: everything a session keeps.
VOLUME ["/data"]
WORKDIR /data
USER mltrainer:mltrainer
# 8000: the MCP server (and its /metrics); 8501: the chat.
EXPOSE 8000 8501
# Python turns SIGINT into KeyboardInterrupt even as PID 1, where SIGTERM would be ignored.
STOPSIGNAL SIGINT

# Healthy when the surface the container runs answers: the MCP server's /metrics on 8000 or the
# chat's Streamlit health endpoint on 8501 (the two documented commands' ports).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request\nfor url in ('http://127.0.0.1:8000/metrics', 'http://127.0.0.1:8501/_stcore/health'):\n    try:\n        urllib.request.urlopen(url, timeout=2)\n        sys.exit(0)\n    except OSError:\n        pass\nsys.exit('neither the MCP server (8000) nor the chat (8501) answers')"]
# The default: the MCP streamable-HTTP server, with Prometheus metrics on /metrics. It is the
# default because it starts safe with no setup (with no token set it makes one and prints it
# once; every call needs it) and it is how LLM clients and other agents use mltrainer; the
# chat needs a token only the operator can choose, so it starts on request:
#   mltrainer ui --host 0.0.0.0 --port 8501
CMD ["mltrainer", "mcp", "--http", "--host", "0.0.0.0", "--port", "8000"]
