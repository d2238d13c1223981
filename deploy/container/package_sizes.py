"""The installed size of every distribution in this Python's environment, largest first: what
each dependency costs the image (README, Container: the image's size).

    deploy/container/podman.sh run --rm --no-healthcheck \\
        -v "$PWD/deploy/container/package_sizes.py:/tmp/package_sizes.py:ro" \\
        localhost/mltrainer:latest python /tmp/package_sizes.py

Counts the files each distribution's RECORD lists that exist (a file removed after installing,
such as a test suite, no longer counts). Standard library only.
"""

from __future__ import annotations

import importlib.metadata
import sys


def installed_sizes() -> dict[str, int]:
    sizes: dict[str, int] = {}
    for distribution in importlib.metadata.distributions():
        total = 0
        for file in distribution.files or []:
            path = file.locate()
            if path.is_file():
                total += path.stat().st_size
        sizes[distribution.metadata["Name"].lower()] = total
    return sizes


def main() -> int:
    sizes = installed_sizes()
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        print(f"{size / 1e6:8.1f} MB  {name}")
    print(f"{sum(sizes.values()) / 1e6:8.1f} MB  in {len(sizes)} distributions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
