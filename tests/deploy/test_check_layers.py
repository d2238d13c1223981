"""deploy/container/check_layers.py finds a key wherever a build could leave it: in any layer
(even one whose file a later layer deletes), as a `.env`, as a mounted build secret, as a copy
of the CA bundle, in the image config or in the build history; and it never prints the value."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "container" / "check_layers.py"
KEY = "sk-test-0123456789abcdef"
CA = b"-----BEGIN CERTIFICATE-----\nMIIB-test-ca\n-----END CERTIFICATE-----\n"


def _layer(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as layer:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            layer.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _archive(
    path: Path,
    layers: list[dict[str, bytes]],
    env: list[str] | None = None,
    steps: list[str] | None = None,
) -> Path:
    """A docker-archive as `podman save --format docker-archive` writes it."""
    steps = steps or [f"RUN step {i}" for i in range(len(layers))]
    config = {
        "config": {"Env": env or ["PATH=/usr/bin", "MLTRAINER_HOME=/data"]},
        "history": [{"created_by": step} for step in steps],
    }
    names = [f"layer{i}/layer.tar" for i in range(len(layers))]
    manifest = [{"Config": "config.json", "RepoTags": ["localhost/test:latest"], "Layers": names}]
    with tarfile.open(path, mode="w") as outer:
        members = {
            "manifest.json": json.dumps(manifest).encode(),
            "config.json": json.dumps(config).encode(),
        }
        members |= {name: _layer(files) for name, files in zip(names, layers, strict=True)}
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            outer.addfile(info, io.BytesIO(content))
    return path


def _check(archive: Path, *args: str, key: str = KEY) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(archive), "--secret-env", "TEST_API_KEY", *args],
        capture_output=True,
        text=True,
        env={"TEST_API_KEY": key},
        check=False,
    )


BASE = {"usr/bin/python3": b"\x7fELF...", "etc/ssl/certs/ca-certificates.crt": CA}
APP = {"opt/venv/lib/site.py": b"import os\n", "data/": b""}


def test_a_clean_image_passes(tmp_path: Path) -> None:
    result = _check(_archive(tmp_path / "i.tar", [BASE, APP]))
    assert result.returncode == 0, result.stdout
    assert "no key in 2 layers" in result.stdout


def test_a_key_in_a_file_of_any_layer_is_found_and_not_printed(tmp_path: Path) -> None:
    leaky = {"opt/app/settings.py": f"OPENAI_API_KEY = '{KEY}'\n".encode()}
    # A later layer deleting the file does not help: the earlier layer still ships it.
    whiteout = {"opt/app/.wh.settings.py": b""}
    result = _check(_archive(tmp_path / "i.tar", [BASE, leaky, whiteout]))
    assert result.returncode == 1
    assert (
        "layer 2 (RUN step 1): opt/app/settings.py contains the value of TEST_API_KEY"
        in result.stdout
    )
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["src/.env", "src/.env.production", "run/secrets/pip-ca"])
def test_a_dotenv_or_a_build_secret_file_is_found(tmp_path: Path, name: str) -> None:
    result = _check(_archive(tmp_path / "i.tar", [BASE, {name: b"anything"}]))
    assert result.returncode == 1
    assert name in result.stdout


def test_a_copy_of_the_ca_bundle_is_found_above_the_base_layers(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(CA)
    copied = {"opt/venv/ca.pem": CA}
    archive = _archive(tmp_path / "i.tar", [BASE, copied])
    result = _check(archive, "--forbid-file", str(tmp_path / "ca.crt"), "--skip-file-layers", "1")
    assert result.returncode == 1
    assert "layer 2 (RUN step 1): opt/venv/ca.pem is a copy of" in result.stdout
    assert "etc/ssl/certs" not in result.stdout


def test_the_base_layers_own_ca_bundle_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_bytes(CA)
    archive = _archive(tmp_path / "i.tar", [BASE, APP])
    result = _check(archive, "--forbid-file", str(tmp_path / "ca.crt"), "--skip-file-layers", "1")
    assert result.returncode == 0, result.stdout


def test_a_key_in_the_config_environment_is_found(tmp_path: Path) -> None:
    archive = _archive(tmp_path / "i.tar", [BASE, APP], env=["PATH=/usr/bin", "FRED_API_KEY=abc"])
    result = _check(archive)
    assert result.returncode == 1
    assert "image config: environment sets FRED_API_KEY" in result.stdout


def test_a_key_in_the_build_history_is_found(tmp_path: Path) -> None:
    steps = ["RUN install", f"ARG OPENAI_API_KEY={KEY}"]
    result = _check(_archive(tmp_path / "i.tar", [BASE, APP], steps=steps))
    assert result.returncode == 1
    assert "build history: contains the value of TEST_API_KEY" in result.stdout
    assert KEY not in result.stdout


def test_a_short_value_is_reported_as_not_searched(tmp_path: Path) -> None:
    result = _check(_archive(tmp_path / "i.tar", [BASE, APP]), key="abc")
    assert result.returncode == 0
    assert "TEST_API_KEY is shorter than 8 characters: not searched" in result.stdout
