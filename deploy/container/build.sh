#!/usr/bin/env bash
# `make image`: builds the image with docker (when its daemon answers) or podman.
#
#   deploy/container/build.sh [ENGINE BUILD FLAGS...]
#
# Environment: MLTRAINER_IMAGE (tag, default localhost/mltrainer:latest), BASE_IMAGE (build
# argument, default the Dockerfile's python:3.12-slim), CONTAINER_ENGINE (docker|podman, to
# choose), PIP_INDEX_URL (passed on when it is an http(s) index). The host's CA bundle is
# mounted for pip as the build secret `pip-ca`: it is in no layer.
set -euo pipefail
# shellcheck source=deploy/container/common.sh
source "$(dirname "$0")/common.sh"

build_image "$(detect_engine)" "$REPO_ROOT" "$@"
