#!/usr/bin/env bash
# Makes the base image without any container registry: a Debian root filesystem from
# `debootstrap --variant=minbase` (Python >= 3.11 with venv, the OpenMP runtime LightGBM links,
# CA certificates), imported into the image-test's podman storage. Prints the image name.
#
# Cached twice: the image stays in the storage, and the root filesystem tarball stays in the
# state directory, so a wiped storage re-imports in seconds instead of bootstrapping again.
# The name carries a hash of the suite, the packages and the recipe's revision.
#
# Settings (environment): MLTRAINER_BASE_SUITE (default: the host's Debian release if it has
# Python >= 3.11, else bookworm), MLTRAINER_DEBIAN_MIRROR (default: the host's apt mirror).
set -euo pipefail
# shellcheck source=deploy/container/common.sh
source "$(dirname "$0")/common.sh"

BASE_PACKAGES=python3,python3-venv,libgomp1,ca-certificates
# Bump when the recipe below changes, so cached bases made by the old one are not reused.
BASE_RECIPE=1

# The first Debian mirror in the host's apt sources (deb822 or one-line format), the one this
# machine is known to reach.
host_debian_mirror() {
    local uri
    uri=$(grep -hE '^URIs:.*/debian/?$' /etc/apt/sources.list.d/*.sources 2>/dev/null \
        | awk '{print $2}' | head -n1 || true)
    if [[ -z "$uri" ]]; then
        uri=$(grep -hE '^deb .*/debian/? ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null \
            | grep -v '\[.*\]' | awk '{print $2}' | head -n1 || true)
    fi
    printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

host_suite() {
    local codename=""
    if [[ -r /etc/os-release ]]; then
        # shellcheck disable=SC1091
        codename=$(
            . /etc/os-release
            if [[ "${ID:-}" == debian ]]; then printf '%s' "${VERSION_CODENAME:-}"; fi
        )
    fi
    case "$codename" in
        bookworm | trixie | forky) printf '%s\n' "$codename" ;;
        *) printf 'bookworm\n' ;;
    esac
}

suite=${MLTRAINER_BASE_SUITE:-$(host_suite)}
mirror=${MLTRAINER_DEBIAN_MIRROR:-$(host_debian_mirror)}
key=$(printf '%s\n' "$suite" "$BASE_PACKAGES" "$BASE_RECIPE" | sha256sum | cut -c1-12)
name="localhost/mltrainer-base:$suite-$key"
state=$(state_dir)
tarball="$state/base-$suite-$key.tar"

if pm image exists "$name"; then
    log "base image $name: cached"
    printf '%s\n' "$name"
    exit 0
fi

if [[ ! -s "$tarball" ]]; then
    command -v debootstrap > /dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
    rootfs=$(mktemp -d "$state/rootfs.XXXXXX")
    trap 'rm -rf "$rootfs"' EXIT
    log "debootstrap --variant=minbase $suite from $mirror (a few minutes, once)"
    debootstrap --variant=minbase --include="$BASE_PACKAGES" "$suite" "$rootfs" "$mirror" \
        > "$state/debootstrap.log" 2>&1 \
        || die "debootstrap failed; the last lines of $state/debootstrap.log: $(tail -n 5 "$state/debootstrap.log")"
    chroot "$rootfs" python3 -c 'import sys, venv; assert sys.version_info >= (3, 11), sys.version' \
        || die "the $suite base has no Python >= 3.11 with venv; choose MLTRAINER_BASE_SUITE=bookworm or later"
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log
    tar --numeric-owner -C "$rootfs" -cf "$tarball.partial" .
    mv "$tarball.partial" "$tarball"
    rm -rf "$rootfs"
    trap - EXIT
fi

log "importing $tarball as $name"
pm import --quiet \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    "$tarball" "$name" > /dev/null
printf '%s\n' "$name"
