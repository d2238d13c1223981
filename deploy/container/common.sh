# shellcheck shell=bash
# Shared by build.sh, base-image.sh and image-test.sh: logging, the host's CA bundle, the
# container engine, and podman set up for a machine with no container registry.

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
IMAGE=${MLTRAINER_IMAGE:-localhost/mltrainer:latest}

# Explicit open-file and process limits for every build step and container, so runc sets
# exactly these instead of inheriting whatever the host has. A limit can only be set up to the
# caller's hard limit, so each is capped there.
capped_limit() {
    local wanted=$1 hard=$2
    if [[ "$hard" == unlimited || "$hard" -ge "$wanted" ]]; then
        printf '%s\n' "$wanted"
    else
        printf '%s\n' "$hard"
    fi
}
NOFILE=$(capped_limit 16384 "$(ulimit -Hn)")
NPROC=$(capped_limit 8192 "$(ulimit -Hu)")
# shellcheck disable=SC2034  # used by the scripts that source this file
ULIMITS=(--ulimit "nofile=$NOFILE:$NOFILE" --ulimit "nproc=$NPROC:$NPROC")

log() { printf '==> %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The CA bundle pip should trust during the build: the one the host's pip uses, so a
# TLS-intercepting proxy in front of PyPI works. It is mounted as a build secret, never copied.
host_ca_bundle() {
    local candidate
    for candidate in "${PIP_CERT:-}" "${REQUESTS_CA_BUNDLE:-}" "${SSL_CERT_FILE:-}" \
        /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt; do
        if [[ -n "$candidate" && -s "$candidate" ]]; then
            printf '%s\n' "$candidate"
            return 0
        fi
    done
    return 1
}

# docker only counts when its daemon answers (a client without an engine is common); podman
# needs no daemon.
detect_engine() {
    if [[ -n "${CONTAINER_ENGINE:-}" ]]; then
        command -v "$CONTAINER_ENGINE" > /dev/null || die "CONTAINER_ENGINE=$CONTAINER_ENGINE is not installed"
        printf '%s\n' "$CONTAINER_ENGINE"
    elif command -v docker > /dev/null && docker info > /dev/null 2>&1; then
        printf 'docker\n'
    elif command -v podman > /dev/null; then
        printf 'podman\n'
    else
        die "no container engine: docker is missing or its daemon does not answer ('docker info'), and podman is not installed. Install one, or run 'make image-test', which installs podman on Debian."
    fi
}

# State of the registry-free podman: its own storage and run directories, so it never mixes
# with (or depends on) the host's default podman configuration.
state_dir() {
    if [[ -n "${MLTRAINER_CONTAINER_STATE:-}" ]]; then
        printf '%s\n' "$MLTRAINER_CONTAINER_STATE"
    else
        printf '%s\n' /var/lib/mltrainer-image-test
    fi
}

# overlay where the kernel has it and the storage directory is not itself on overlayfs;
# otherwise vfs (slower, more disk, works everywhere).
storage_driver() {
    if [[ -n "${MLTRAINER_STORAGE_DRIVER:-}" ]]; then
        printf '%s\n' "$MLTRAINER_STORAGE_DRIVER"
        return
    fi
    local state fs
    state=$(state_dir)
    mkdir -p "$state"
    fs=$(stat -f -c %T "$state")
    if grep -qw overlay /proc/filesystems && [[ "$fs" != overlayfs ]]; then
        printf 'overlay\n'
    else
        printf 'vfs\n'
    fi
}

# podman with global flags that work where cgroups are hybrid (v1 + v2) and no systemd runs:
# runc (crun fails there), cgroupfs, file events, a private storage root.
pm() {
    local state driver
    state=$(state_dir)
    driver=$(storage_driver)
    podman --root "$state/storage-$driver" --runroot "$state/run" --storage-driver "$driver" \
        --runtime runc --cgroup-manager cgroupfs --events-backend file "$@"
}

# Builds $IMAGE from CONTEXT with ENGINE (docker, podman, or the pm function), passing
# BASE_IMAGE and an http(s) PIP_INDEX_URL as build arguments, the host's CA bundle as the build
# secret `pip-ca`, then any further arguments to the engine's build command.
build_image() {
    local engine=$1 context=$2 ca
    shift 2
    local args=(build --file "$REPO_ROOT/Dockerfile" --tag "$IMAGE")
    if [[ -n "${BASE_IMAGE:-}" ]]; then
        args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
    fi
    if ca=$(host_ca_bundle); then
        args+=(--secret "id=pip-ca,src=$ca")
    fi
    # Host pip settings that point at local paths (find-links, file:// indexes) mean nothing
    # inside the build; only an http(s) index is passed on.
    if [[ "${PIP_INDEX_URL:-}" == http* ]]; then
        args+=(--build-arg "PIP_INDEX_URL=$PIP_INDEX_URL")
    fi
    if [[ "$engine" != docker ]]; then
        # podman's default OCI format has no HEALTHCHECK; the docker format keeps it.
        args+=(--format docker)
    fi
    args+=("$@")
    log "$engine ${args[*]} $context"
    if [[ "$engine" == docker ]]; then
        # Build secrets need BuildKit, the default since Docker 23; older daemons need it asked for.
        DOCKER_BUILDKIT=1 docker "${args[@]}" "$context"
    else
        "$engine" "${args[@]}" "$context"
    fi
}
