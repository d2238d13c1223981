"""Checks a saved image for baked-in keys: every layer, the image config and the build history.

Reads the archive that `podman save --format docker-archive` or `docker save` writes, and
fails when any layer holds the value of a named environment variable (a real key, or the
canary the image test plants in the build context and environment), a `.env` file, anything
under `run/secrets/` (where build secrets are mounted), or a file with the same content as a
given file (the host CA bundle, which is mounted for pip and must not be copied). The config's
environment must set no key-like variable. Values are never printed, only where they were found.

    python3 check_layers.py IMAGE.tar --secret-env OPENAI_API_KEY --forbid-file /etc/ssl/cert.pem

Standard library only, so it runs with the host's python3. Exit 0 when clean, 1 with one line
per finding.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

KEY_LIKE_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL)", re.IGNORECASE)
# Shorter values would match by chance in a gigabyte of libraries.
MIN_SECRET_LENGTH = 8


@dataclass(frozen=True)
class ForbiddenFile:
    path: str
    size: int
    sha256: str


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("archive", type=Path, help="docker-archive tar of the image")
    parser.add_argument(
        "--secret-env",
        action="append",
        default=[],
        metavar="NAME",
        help="environment variable whose value must appear nowhere in the image",
    )
    parser.add_argument(
        "--forbid-file",
        action="append",
        default=[],
        metavar="PATH",
        help="file whose content must not be in any layer",
    )
    parser.add_argument(
        "--skip-file-layers",
        type=int,
        default=0,
        metavar="N",
        help="check the first N layers (the base image's) for values and names only, not for"
        " copies of --forbid-file: a base may ship the same CA bundle as the host",
    )
    return parser.parse_args(argv)


def secret_values(names: list[str]) -> tuple[dict[str, bytes], list[str]]:
    values: dict[str, bytes] = {}
    notes: list[str] = []
    for name in names:
        value = os.environ.get(name, "")
        if len(value) >= MIN_SECRET_LENGTH:
            values[name] = value.encode()
        elif value:
            notes.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters: not searched")
    return values, notes


def forbidden_files(paths: list[str]) -> list[ForbiddenFile]:
    files = []
    for path in paths:
        content = Path(path).read_bytes()
        files.append(ForbiddenFile(path, len(content), hashlib.sha256(content).hexdigest()))
    return files


def layer_labels(config: dict, layer_count: int) -> list[str]:
    """The Dockerfile instruction behind each layer, from the history's non-empty entries."""
    steps = [
        h.get("created_by", "?") for h in config.get("history", []) if not h.get("empty_layer")
    ]
    if len(steps) != layer_count:
        return [f"layer {i + 1}" for i in range(layer_count)]
    return [f"layer {i + 1} ({' '.join(step.split())[:70]})" for i, step in enumerate(steps)]


def check_config(config: dict, secrets: dict[str, bytes]) -> list[str]:
    findings = []
    for entry in config.get("config", {}).get("Env") or []:
        name, _, value = entry.partition("=")
        if KEY_LIKE_NAME.search(name) and value:
            findings.append(f"image config: environment sets {name}")
    text = json.dumps(config).encode()
    for name, value in secrets.items():
        if value in text:
            findings.append(f"image config or build history: contains the value of {name}")
    return findings


def check_layer(
    layer: tarfile.TarFile,
    label: str,
    secrets: dict[str, bytes],
    forbidden: list[ForbiddenFile],
) -> list[str]:
    findings = []
    for member in layer:
        path = PurePosixPath(member.name.removeprefix("./"))
        name = path.name
        if name == ".env" or name.startswith(".env."):
            findings.append(f"{label}: holds {path}")
        if path.parts[:2] == ("run", "secrets") and len(path.parts) > 2:
            findings.append(f"{label}: holds the build secret mount {path}")
        if not member.isfile():
            continue
        handle = layer.extractfile(member)
        content = handle.read() if handle is not None else b""
        for secret_name, value in secrets.items():
            if value in content:
                findings.append(f"{label}: {path} contains the value of {secret_name}")
        for file in forbidden:
            if member.size == file.size and hashlib.sha256(content).hexdigest() == file.sha256:
                findings.append(f"{label}: {path} is a copy of {file.path}")
    return findings


def check_archive(
    archive: Path,
    secrets: dict[str, bytes],
    forbidden: list[ForbiddenFile],
    skip_file_layers: int,
) -> tuple[list[str], int]:
    with tarfile.open(archive) as outer:
        manifest_file = outer.extractfile("manifest.json")
        if manifest_file is None:
            raise ValueError(f"{archive} has no manifest.json: not a docker-archive")
        (manifest,) = json.load(manifest_file)
        config_file = outer.extractfile(manifest["Config"])
        if config_file is None:
            raise ValueError(f"{archive}: config {manifest['Config']} is missing")
        config = json.load(config_file)
        findings = check_config(config, secrets)
        labels = layer_labels(config, len(manifest["Layers"]))
        for index, (label, layer_path) in enumerate(zip(labels, manifest["Layers"], strict=True)):
            layer_file = outer.extractfile(layer_path)
            if layer_file is None:
                raise ValueError(f"{archive}: layer {layer_path} is missing")
            layer_forbidden = forbidden if index >= skip_file_layers else []
            with tarfile.open(fileobj=layer_file, mode="r|*") as layer:
                findings += check_layer(layer, label, secrets, layer_forbidden)
    return findings, len(labels)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    secrets, notes = secret_values(args.secret_env)
    for note in notes:
        print(f"note: {note}")
    findings, layer_count = check_archive(
        args.archive, secrets, forbidden_files(args.forbid_file), args.skip_file_layers
    )
    for finding in findings:
        print(f"KEY IN IMAGE: {finding}")
    if findings:
        return 1
    print(
        f"no key in {layer_count} layers, the config or the history "
        f"(searched for {len(secrets)} values, {len(args.forbid_file)} files, .env, run/secrets)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
