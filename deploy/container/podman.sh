#!/usr/bin/env bash
# podman as `make image-test` runs it (its own storage, runc, cgroupfs), to use the image it
# built: `deploy/container/podman.sh images`, `deploy/container/podman.sh run --rm IMAGE ...`.
# `run` gets the same host network and explicit nofile/nproc limits as the test's containers.
set -euo pipefail
# shellcheck source=deploy/container/common.sh
source "$(dirname "$0")/common.sh"

if [[ "${1:-}" == run ]]; then
    shift
    pm run --network host "${ULIMITS[@]}" "$@"
else
    pm "$@"
fi
