#!/usr/bin/env bash
# `make image-test`: builds the image and runs it on a machine that reaches no container
# registry, only Debian's packages and PyPI. Needs root (debootstrap, podman's storage).
#
#   1. tools      podman, buildah, runc and debootstrap from Debian's packages (apt-get when missing)
#   2. base       a debootstrap --variant=minbase image, imported and cached (base-image.sh)
#   3. build      the Dockerfile on that base with podman: chroot isolation, host network,
#                 runc with explicit nofile/nproc limits, the host CA bundle as a build secret;
#                 the context is a copy of the repository with a planted canary `.env`, and
#                 canary keys are set in the build's environment
#   4. config     the image's user and the running process are not root, the app is read-only
#                 to it; the data home is a volume; the image has its HEALTHCHECK
#   5. demo       `mltrainer demo` in the container exits 0 and prints its results table; the
#                 ledger and transcript land on the data volume; a key passed with --env-file
#                 is not written there
#   6. shared     two containers on the data volume record 300 trials each at the same moment
#                 (ledger_writers.py): the ledger holds all 600 once each, numbered without gaps,
#                 and passes SQLite's integrity check
#   7. chat       `mltrainer ui --host 0.0.0.0 --port 8501` refuses to start without a token; with
#                 one (a file) and a canary key it serves: Streamlit's health endpoint answers the
#                 host, the HEALTHCHECK's command passes inside, and headless Chromium on the host
#                 (chat_check.py) meets the token form first, is refused a wrong token, enters the
#                 right one, trains a trial on SPX and reads its accuracy as the ledger on the
#                 volume has it; the key is never in the page
#   8. server     the image's default command (the MCP HTTP server) in the background, its token
#                 in a mounted file: `/metrics` scraped from the host lists the seed's metrics;
#                 /mcp (mcp_check.py, from the host) refuses no token and a wrong one and answers
#                 the token; the health check's own command passes inside; the log hides the token
#   9. no keys    `podman history` and every saved layer: no canary or host key value, no
#                 .env, no build secret, no copy of the CA bundle, no key-like ENV
#
# The chat check drives Chromium with selenium from the repository's .venv (`make image-test`
# runs `make install-dev browser` first). Ports 8000 and 8501 must be free (host network).
# Every container runs with --pull=never: the test fails rather than reach for a registry.
# Settings: MLTRAINER_IMAGE (tag), MLTRAINER_CONTAINER_STATE (storage and cache, default
# /var/lib/mltrainer-image-test), MLTRAINER_STORAGE_DRIVER (overlay|vfs), MLTRAINER_BASE_SUITE.
set -euo pipefail
# shellcheck source=deploy/container/common.sh
source "$(dirname "$0")/common.sh"

KEY_NAMES=(OPENAI_API_KEY ANTHROPIC_API_KEY POLYGON_API_KEY MASSIVE_API_KEY FRED_API_KEY)
# One-shot commands: no health check (podman would ask systemd for a timer, and nothing serves
# /metrics while `mltrainer demo` runs).
RUN_FLAGS=(--rm --pull=never --network host "${ULIMITS[@]}" --no-healthcheck)

work=""
volume=""
containers=()
cleanup() {
    local name
    for name in "${containers[@]}"; do
        pm rm --force "$name" > /dev/null 2>&1 || true
    done
    if [[ -n "$volume" ]]; then
        pm volume rm --force "$volume" > /dev/null 2>&1 || true
    fi
    if [[ -n "$work" ]]; then
        rm -rf "$work"
    fi
}
trap cleanup EXIT

elapsed() { printf '%ss' "$SECONDS"; }

new_canary() { printf 'canary-%s-%s' "$1" "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"; }

step_tools() {
    local tool missing=()
    for tool in podman buildah runc debootstrap; do
        command -v "$tool" > /dev/null || missing+=("$tool")
    done
    if ((${#missing[@]})); then
        command -v apt-get > /dev/null \
            || die "${missing[*]} missing and there is no apt-get: make image-test needs Debian (or Ubuntu), or these tools installed by hand"
        log "installing ${missing[*]} from Debian's packages"
        apt-get update -qq > /dev/null || die "apt-get update failed: Debian's package mirror is not reachable"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" > /dev/null \
            || die "apt-get install ${missing[*]} failed"
    fi
    pm info > /dev/null 2> "$work/podman-info.err" \
        || die "podman does not work here ($(tail -n 1 "$work/podman-info.err")); the image cannot be built or run on this machine"
    log "tools: $(podman --version), $(runc --version | head -n 1), storage $(storage_driver) [$(elapsed)]"
}

step_base() {
    BASE_IMAGE=$(bash "$(dirname "$0")/base-image.sh")
    export BASE_IMAGE
    log "base: $BASE_IMAGE [$(elapsed)]"
}

# The build context is a copy of the working tree (without .git and the virtual environment)
# plus files .dockerignore must keep out. Canary keys are also in the build's environment.
step_build() {
    local context="$work/context"
    mkdir -p "$context"
    # Real .env files are not copied (their values are searched for in step_no_keys instead).
    tar -C "$REPO_ROOT" --exclude=./.git --exclude=./.venv --exclude=./build \
        --exclude=./mltrainer-home --exclude='*/__pycache__' --exclude=./.mypy_cache \
        --exclude=./.ruff_cache --exclude=./.pytest_cache --exclude=./.hypothesis \
        --exclude=.env --exclude='.env.*' -cf - . | tar -C "$context" -xf -
    CANARY_DOTENV=$(new_canary dotenv)
    CANARY_BUILD_ENV=$(new_canary build-env)
    export CANARY_DOTENV CANARY_BUILD_ENV
    printf 'OPENAI_API_KEY=%s\n' "$CANARY_DOTENV" > "$context/.env"
    printf 'ANTHROPIC_API_KEY=%s\n' "$CANARY_DOTENV" > "$context/agent/.env"
    (
        for name in "${KEY_NAMES[@]}"; do
            export "$name=$CANARY_BUILD_ENV"
        done
        build_image pm "$context" --pull=never --isolation chroot --network host "${ULIMITS[@]}" \
            > "$(state_dir)/build.log" 2>&1
    ) || {
        tail -n 40 "$(state_dir)/build.log" >&2
        die "the image did not build (last 40 lines above; all of it in $(state_dir)/build.log)"
    }
    log "build: $IMAGE, $(pm image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=si)B [$(elapsed)]"
}

step_config() {
    local user uid volumes env healthcheck
    user=$(pm image inspect --format '{{.Config.User}}' "$IMAGE")
    [[ -n "$user" && "${user%%:*}" != root && "${user%%:*}" != 0 ]] \
        || die "the image's USER is '${user}': it must name a non-root user"
    volumes=$(pm image inspect --format '{{json .Config.Volumes}}' "$IMAGE")
    env=$(pm image inspect --format '{{json .Config.Env}}' "$IMAGE")
    [[ "$volumes" == *'"/data"'* && "$env" == *'"MLTRAINER_HOME=/data"'* ]] \
        || die "the data home is not on a volume: VOLUME $volumes, ENV $env"
    healthcheck=$(pm image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")
    [[ "$healthcheck" == *'"Test"'* ]] || die "the image has no HEALTHCHECK (podman needs --format docker to keep it)"
    uid=$(pm run "${RUN_FLAGS[@]}" "$IMAGE" id -u)
    [[ "$uid" =~ ^[0-9]+$ && "$uid" != 0 ]] || die "the container runs as uid '$uid', not as a non-root user"
    # shellcheck disable=SC2016  # expanded by the container's shell
    pm run "${RUN_FLAGS[@]}" "$IMAGE" sh -c 'test ! -w /opt/venv/bin && test -w "$MLTRAINER_HOME"' \
        || die "the app user can write /opt/venv, or cannot write its data home"
    log "config: USER $user (uid $uid), /opt/venv read-only, VOLUME /data = MLTRAINER_HOME, HEALTHCHECK set [$(elapsed)]"
}

step_demo() {
    local out="$work/demo.out" home rows progress
    volume="mltrainer-image-test-$$"
    pm volume create "$volume" > /dev/null
    CANARY_RUN_ENV=$(new_canary run-env)
    export CANARY_RUN_ENV
    printf 'OPENAI_API_KEY=%s\n' "$CANARY_RUN_ENV" > "$work/run.env"
    pm run "${RUN_FLAGS[@]}" --env-file "$work/run.env" -v "$volume:/data" "$IMAGE" \
        mltrainer demo > "$out" 2>&1 || {
        cat "$out" >&2
        die "mltrainer demo exited non-zero in the container (output above)"
    }
    cat "$out"
    grep -q 'Trials this session' "$out" || die "mltrainer demo printed no results table"
    # Piped, with no COLUMNS, the tables print as TSV: a trial's row starts with its number.
    rows=$(grep -cP '^[0-9]+\t' "$out" || true)
    progress=$(grep -cE '✓ trial [0-9]+:' "$out" || true)
    [[ "$rows" -ge 1 && "$rows" == "$progress" ]] \
        || die "the results table has $rows rows for $progress finished trials"
    home=$(pm volume inspect --format '{{.Mountpoint}}' "$volume")
    [[ -s "$home/mltrainer.db" ]] || die "no ledger (mltrainer.db) on the data volume"
    compgen -G "$home/transcripts/*.jsonl" > /dev/null || die "no transcript on the data volume"
    if grep -rqF "$CANARY_RUN_ENV" "$home"; then
        die "the key passed with --env-file was written to the data volume"
    fi
    log "demo: exit 0, $rows trials in the table; ledger and transcript on the volume, no key there [$(elapsed)]"
}

# The argv of the image's HEALTHCHECK, NUL-separated (its Python program spans several lines).
healthcheck_argv() {
    pm image inspect --format '{{json .Config.Healthcheck.Test}}' "$IMAGE" \
        | python3 -c 'import json, sys; sys.stdout.write("".join(a + "\0" for a in json.load(sys.stdin)[1:]))'
}

# The HEALTHCHECK's own command, run where the runtime would run it, in container $1.
healthcheck_passes() {
    local check_argv
    mapfile -d '' -t check_argv < <(healthcheck_argv)
    pm exec "$1" "${check_argv[@]}"
}

# Polls URL $2 from the host into file $3 until it answers (at most $4 seconds), while
# container $1 runs; dies with the container's output when it exits or nothing answers.
wait_for_url() {
    local name=$1 url=$2 out=$3 seconds=$4
    for _ in $(seq "$seconds"); do
        if python3 -c 'import urllib.request, sys; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=2).read().decode())' "$url" > "$out" 2> /dev/null; then
            return 0
        fi
        [[ "$(pm inspect --format '{{.State.Running}}' "$name")" == true ]] || {
            pm logs "$name" >&2
            die "the container $name exited (its output above)"
        }
        sleep 1
    done
    pm logs "$name" >&2
    die "nothing answered on $url within $seconds s"
}

port_is_free() {
    ! python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)' "$1" 2> /dev/null
}

# Two containers on one volume, as compose runs the chat and the MCP server: each records 300
# trials (copies of the demo's first) at the same moment, one transaction per trial.
step_shared() {
    local home start before writer pid pids=() script=/opt/mltrainer-check/ledger_writers.py
    home=$(pm volume inspect --format '{{.Mountpoint}}' "$volume")
    before=$(python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM trials").fetchone()[0])' "$home/mltrainer.db")
    # Far enough ahead that both containers are up and past their imports on a loaded machine.
    start=$(python3 -c 'import time; print(time.time() + 15)')
    for writer in chat mcp; do
        pm run "${RUN_FLAGS[@]}" -v "$volume:/data" \
            -v "$REPO_ROOT/deploy/container/ledger_writers.py:$script:ro" "$IMAGE" \
            python "$script" /data --writer "$writer" --trials 300 --start-at "$start" \
            > "$work/writer-$writer.out" 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || {
            cat "$work"/writer-*.out >&2
            die "a writer container failed (output above)"
        }
    done
    cat "$work"/writer-*.out
    python3 "$REPO_ROOT/deploy/container/ledger_writers.py" "$home" --check chat,mcp \
        --trials 300 --before "$before" \
        || die "the shared ledger lost, doubled or broke trials (above)"
    log "shared: two containers wrote 300 trials each at once to one volume's ledger; $((before + 600)) trials, none lost or doubled, integrity ok [$(elapsed)]"
}

# The chat as docs/operations.md runs it: `mltrainer ui --host 0.0.0.0 --port 8501`, the token in a
# file, the operator's key (a canary) in the environment.
step_chat() {
    local name="mltrainer-image-test-chat-$$" token="$work/ui-token" refused="$work/chat-refused.out"
    local home
    port_is_free 8501 || die "port 8501 is taken on this machine; the image's chat needs it (host network)"
    if pm run "${RUN_FLAGS[@]}" -v "$volume:/data" "$IMAGE" \
        mltrainer ui --host 0.0.0.0 --port 8501 > "$refused" 2>&1; then
        die "the chat started on 0.0.0.0 with no token"
    fi
    grep -q 'so visitors must enter a token: set MLTRAINER_UI_TOKEN' "$refused" \
        || { cat "$refused" >&2; die "the chat without a token did not say why it refused (above)"; }
    python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$token"
    chmod 0644 "$token"
    containers+=("$name")
    pm run -d --name "$name" --pull=never --network host "${ULIMITS[@]}" --no-healthcheck \
        --env-file "$work/run.env" -e MLTRAINER_UI_TOKEN_FILE=/run/mltrainer/ui-token \
        -v "$token:/run/mltrainer/ui-token:ro" -v "$volume:/data" "$IMAGE" \
        mltrainer ui --host 0.0.0.0 --port 8501 > /dev/null
    wait_for_url "$name" http://127.0.0.1:8501/_stcore/health "$work/chat-health.txt" 90
    [[ "$(cat "$work/chat-health.txt")" == ok ]] || die "Streamlit's health endpoint answered '$(cat "$work/chat-health.txt")', not ok"
    healthcheck_passes "$name" || die "the image's HEALTHCHECK command fails against its chat"
    home=$(pm volume inspect --format '{{.Mountpoint}}' "$volume")
    NO_PROXY=127.0.0.1 "$REPO_ROOT/.venv/bin/python" "$REPO_ROOT/deploy/container/chat_check.py" \
        http://127.0.0.1:8501 --token-file "$token" --ledger "$home/mltrainer.db" \
        --provider "Direct (no LLM)" --secret-env CANARY_RUN_ENV \
        --screenshot "$(state_dir)/chat.png" \
        || { pm logs "$name" | tail -n 40 >&2; die "the chat check failed (the chat's last lines above)"; }
    pm stop --time 10 "$name" > /dev/null
    pm rm --force "$name" > /dev/null
    log "chat: refused without a token; with one, /_stcore/health ok, HEALTHCHECK passes, Chromium entered the token and trained a trial on SPX; screenshot $(state_dir)/chat.png [$(elapsed)]"
}

# The default command, as `docker run IMAGE` starts it, with its bearer token in a file mounted
# read-only (MLTRAINER_MCP_TOKEN_FILE, docs/security.md): with the host network it listens on
# the host's port 8000, so that port must be free.
step_server() {
    local name="mltrainer-image-test-server-$$" out="$work/metrics.txt" token="$work/mcp-token"
    port_is_free 8000 || die "port 8000 is taken on this machine; the image's server needs it (host network)"
    python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > "$token"
    chmod 0644 "$token"
    containers+=("$name")
    pm run -d --name "$name" --pull=never --network host "${ULIMITS[@]}" --no-healthcheck \
        -e MLTRAINER_MCP_TOKEN_FILE=/run/mltrainer/mcp-token \
        -v "$token:/run/mltrainer/mcp-token:ro" -v "$volume:/data" "$IMAGE" > /dev/null
    wait_for_url "$name" http://127.0.0.1:8000/metrics "$out" 60
    for metric in ml_model_training_total ml_model_accuracy parsing_duration_seconds; do
        grep -q "^# TYPE $metric" "$out" || die "/metrics does not list $metric"
    done
    python3 "$REPO_ROOT/deploy/container/mcp_check.py" http://127.0.0.1:8000 --token-file "$token" \
        || die "the image's MCP server does not require its bearer token (above)"
    healthcheck_passes "$name" || die "the image's HEALTHCHECK command fails against its own server"
    pm logs "$name" > "$work/server.log" 2>&1
    if grep -qF "$(cat "$token")" "$work/server.log"; then
        die "the MCP server's output shows its token"
    fi
    pm stop --time 10 "$name" > /dev/null
    pm rm --force "$name" > /dev/null
    log "server: default command answers /metrics on :8000 with the seed's metrics; /mcp refuses no token and a wrong one, answers its token; HEALTHCHECK passes [$(elapsed)]"
}

# Keys in the repository's .env are searched for too, exported as HOST_DOTENV_<NAME>.
export_repo_dotenv_keys() {
    local line name value
    [[ -f "$REPO_ROOT/.env" ]] || return 0
    while IFS= read -r line || [[ -n "$line" ]]; do
        [[ "$line" =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        name=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        # Settings such as POLYGON_BASE_URL are not secret and may well be in the code.
        [[ "$name" =~ (KEY|TOKEN|SECRET|PASSWORD) ]] || continue
        value=${value#[\"\']}
        value=${value%[\"\']}
        export "HOST_DOTENV_$name=$value"
        SCAN_NAMES+=("HOST_DOTENV_$name")
    done < "$REPO_ROOT/.env"
}

step_no_keys() {
    local base_layers ca canary
    SCAN_NAMES=(CANARY_DOTENV CANARY_BUILD_ENV CANARY_RUN_ENV "${KEY_NAMES[@]}")
    export_repo_dotenv_keys
    pm history --no-trunc --format '{{.CreatedBy}}' "$IMAGE" > "$work/history.txt"
    for canary in "$CANARY_DOTENV" "$CANARY_BUILD_ENV" "$CANARY_RUN_ENV"; do
        if grep -qF "$canary" "$work/history.txt"; then
            die "podman history shows a canary key: a key is baked into the image"
        fi
    done
    pm save --quiet --format docker-archive --output "$work/image.tar" "$IMAGE"
    base_layers=$(pm image inspect --format '{{len .RootFS.Layers}}' "$BASE_IMAGE")
    local args=("$work/image.tar" --skip-file-layers "$base_layers")
    local name
    for name in "${SCAN_NAMES[@]}"; do
        args+=(--secret-env "$name")
    done
    if ca=$(host_ca_bundle); then
        args+=(--forbid-file "$ca")
    fi
    python3 "$(dirname "$0")/check_layers.py" "${args[@]}" || die "a key or the build secret is in the image"
    rm -f "$work/image.tar"
    log "no keys: history and layers clean [$(elapsed)]"
}

main() {
    [[ $EUID -eq 0 ]] || die "make image-test needs root (debootstrap and podman's storage); run it as root or with sudo"
    work=$(mktemp -d /var/tmp/mltrainer-image-test.XXXXXX)
    step_tools
    step_base
    step_build
    step_config
    step_demo
    step_shared
    step_chat
    step_server
    step_no_keys
    # Old final images of earlier builds; the layers of the current one stay as the cache.
    pm image prune --force --filter until=24h > /dev/null
    log "image-test passed in $(elapsed): $IMAGE"
}

main "$@"
