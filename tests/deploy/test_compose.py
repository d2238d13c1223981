"""The compose file and the Prometheus scrape config agree with each other and with the
Dockerfile: no engine or registry is needed to check that the app, its port, its data volume
and its metrics endpoint are wired the same way everywhere."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
# Top-level elements of the Compose Specification.
COMPOSE_TOP_LEVEL = {
    "version",
    "name",
    "include",
    "services",
    "networks",
    "volumes",
    "configs",
    "secrets",
    "models",
}
KEY_LIKE = re.compile(r"KEY|TOKEN|SECRET|PASSWORD", re.IGNORECASE)


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load(DEPLOY / "compose.yaml")


@pytest.fixture(scope="module")
def dockerfile() -> dict[str, Any]:
    """The few facts of the runtime image the deploy files depend on."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions = re.sub(r"\\\n\s*", " ", text)
    cmd = json.loads(re.findall(r"^CMD (\[.*\])$", instructions, re.MULTILINE)[-1])
    healthcheck = re.search(r"^HEALTHCHECK .* CMD (\[.*\])$", instructions, re.MULTILINE)
    assert healthcheck is not None
    health_url = urlsplit(re.search(r"'(http://[^']+)'", healthcheck.group(1)).group(1))  # type: ignore[union-attr]
    return {
        "cmd": cmd,
        "cmd_port": int(cmd[cmd.index("--port") + 1]),
        "expose": [int(p) for p in re.findall(r"^EXPOSE (\d+)$", instructions, re.MULTILINE)],
        "volumes": json.loads(re.search(r"^VOLUME (\[.*\])$", instructions, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        "home": re.search(r"MLTRAINER_HOME=(\S+)", instructions).group(1),  # type: ignore[union-attr]
        "health_port": health_url.port,
        "health_path": health_url.path,
    }


def test_compose_uses_only_compose_spec_top_level_elements(compose: dict[str, Any]) -> None:
    assert set(compose) <= COMPOSE_TOP_LEVEL
    assert set(compose["services"]) == {"mltrainer", "prometheus"}


def test_app_service_builds_this_repository_with_the_dockerfile(compose: dict[str, Any]) -> None:
    build = compose["services"]["mltrainer"]["build"]
    context = (DEPLOY / build["context"]).resolve()
    assert context == ROOT
    assert (context / build["dockerfile"]).is_file()
    assert (context / ".dockerignore").is_file()


def test_app_service_publishes_the_port_the_image_serves_and_checks(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    published = compose["services"]["mltrainer"]["ports"]
    container_ports = {int(str(p).rsplit(":", 1)[-1]) for p in published}
    assert container_ports == {dockerfile["cmd_port"]}
    assert dockerfile["expose"] == [dockerfile["cmd_port"]]
    assert dockerfile["health_port"] == dockerfile["cmd_port"]


def test_app_service_keeps_the_data_home_on_a_named_volume(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    mounts = [str(v).split(":") for v in compose["services"]["mltrainer"]["volumes"]]
    assert dockerfile["volumes"] == [dockerfile["home"]]
    assert [target for _, target, *_ in mounts] == [dockerfile["home"]]
    assert {source for source, *_ in mounts} <= set(compose["volumes"])


def test_compose_file_holds_no_key_values(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        environment = service.get("environment", [])
        entries = (
            environment.items()
            if isinstance(environment, dict)
            else [tuple(e.split("=", 1)) if "=" in e else (e, None) for e in environment]
        )
        for variable, value in entries:
            assert not (KEY_LIKE.search(variable) and value), f"{name} sets {variable} in the file"
        assert "env_file" not in service or all(".env" not in str(f) for f in service["env_file"])


def test_every_named_volume_is_declared(compose: dict[str, Any]) -> None:
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith((".", "/")):
                assert source in compose["volumes"]


def test_prometheus_reads_the_shipped_scrape_config(compose: dict[str, Any]) -> None:
    service = compose["services"]["prometheus"]
    config_flag = next(a for a in service["command"] if a.startswith("--config.file="))
    config_path = config_flag.split("=", 1)[1]
    mounts = {
        target: source for source, target, *_ in (str(v).split(":") for v in service["volumes"])
    }
    assert (DEPLOY / mounts[config_path]).resolve() == DEPLOY / "prometheus.yml"


def test_scrape_config_targets_the_app_metrics_endpoint(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    config = _load(DEPLOY / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "mltrainer"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    assert targets == [f"mltrainer:{dockerfile['cmd_port']}"]
    assert "mltrainer" in compose["services"]
    assert job.get("metrics_path", "/metrics") == dockerfile["health_path"] == "/metrics"


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool (Debian package prometheus) is not installed"
)
def test_promtool_accepts_the_scrape_config() -> None:
    result = subprocess.run(
        ["promtool", "check", "config", str(DEPLOY / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
