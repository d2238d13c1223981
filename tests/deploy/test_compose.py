"""The compose file and the Prometheus scrape config agree with each other and with the
Dockerfile: no engine or registry is needed to check that the MCP server and the chat, their
ports, their one shared data volume and their metrics endpoints are wired the same way
everywhere."""

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
    health_urls = [urlsplit(url) for url in re.findall(r"'(http://[^']+)'", healthcheck.group(1))]
    exposed = re.search(r"^EXPOSE ([\d ]+)$", instructions, re.MULTILINE)
    assert exposed is not None
    return {
        "cmd": cmd,
        "cmd_port": int(cmd[cmd.index("--port") + 1]),
        "expose": sorted(int(p) for p in exposed.group(1).split()),
        "volumes": json.loads(re.search(r"^VOLUME (\[.*\])$", instructions, re.MULTILINE).group(1)),  # type: ignore[union-attr]
        "home": re.search(r"MLTRAINER_HOME=(\S+)", instructions).group(1),  # type: ignore[union-attr]
        "health": {url.port: url.path for url in health_urls},
    }


def app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: compose["services"][name] for name in ("mcp", "chat")}


def published_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(p).rsplit(":", 1)[-1]) for p in service["ports"]}


def option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_compose_uses_only_compose_spec_top_level_elements(compose: dict[str, Any]) -> None:
    extensions = {key for key in compose if key.startswith("x-")}
    assert set(compose) - extensions <= COMPOSE_TOP_LEVEL
    assert set(compose["services"]) == {"mcp", "chat", "prometheus"}


def test_both_app_services_build_this_repository_with_the_dockerfile(
    compose: dict[str, Any],
) -> None:
    for service in app_services(compose).values():
        build = service["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == ROOT
        assert (context / build["dockerfile"]).is_file()
        assert (context / ".dockerignore").is_file()
        assert service["image"] == "localhost/mltrainer:latest"


def test_the_mcp_service_runs_the_images_default_command_on_the_port_it_publishes(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    mcp = compose["services"]["mcp"]
    assert "command" not in mcp
    assert dockerfile["cmd"][:3] == ["mltrainer", "mcp", "--http"]
    assert published_ports(mcp) == {dockerfile["cmd_port"]} == {8000}
    assert dockerfile["health"][dockerfile["cmd_port"]] == "/metrics"


def test_the_chat_service_runs_the_documented_chat_command_on_the_port_it_publishes(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    command = compose["services"]["chat"]["command"]
    assert command[:6] == ["mltrainer", "ui", "--host", "0.0.0.0", "--port", "8501"]
    assert published_ports(compose["services"]["chat"]) == {8501}
    assert dockerfile["health"][8501] == "/_stcore/health"


def test_the_image_exposes_both_surfaces_ports(dockerfile: dict[str, Any]) -> None:
    assert dockerfile["expose"] == [8000, 8501]


def test_the_chat_gets_its_token_from_the_shell_and_mcp_its_own(compose: dict[str, Any]) -> None:
    environment = {name: set(s["environment"]) for name, s in app_services(compose).items()}
    assert {"MLTRAINER_UI_TOKEN", "MLTRAINER_UI_TOKEN_FILE"} <= environment["chat"]
    assert {"MLTRAINER_MCP_TOKEN", "MLTRAINER_MCP_TOKEN_FILE"} <= environment["mcp"]
    assert not any("MLTRAINER_UI" in variable for variable in environment["mcp"])


def test_the_mcp_server_answers_the_host_name_prometheus_scrapes(compose: dict[str, Any]) -> None:
    config = _load(DEPLOY / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "mltrainer"]
    scraped = {t.split(":")[0] for group in job["static_configs"] for t in group["targets"]}
    allowed = next(
        e.split("=", 1)[1]
        for e in compose["services"]["mcp"]["environment"]
        if e.startswith("MLTRAINER_MCP_ALLOWED_HOSTS=")
    )
    assert "mcp" in scraped
    assert allowed.split(",") == ["mcp"]


def test_both_app_services_share_one_data_volume_at_the_images_home(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    assert dockerfile["volumes"] == [dockerfile["home"]]
    mounts = {
        name: [str(v).split(":") for v in service["volumes"]]
        for name, service in app_services(compose).items()
    }
    assert mounts == {
        "mcp": [["mltrainer-home", dockerfile["home"]]],
        "chat": [["mltrainer-home", dockerfile["home"]]],
    }
    assert "mltrainer-home" in compose["volumes"]


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


def test_scrape_config_targets_both_surfaces_metrics_endpoints(
    compose: dict[str, Any], dockerfile: dict[str, Any]
) -> None:
    config = _load(DEPLOY / "prometheus.yml")
    (job,) = [j for j in config["scrape_configs"] if j["job_name"] == "mltrainer"]
    targets = [t for group in job["static_configs"] for t in group["targets"]]
    chat_metrics_port = option(compose["services"]["chat"]["command"], "--metrics-port")
    assert targets == [f"mcp:{dockerfile['cmd_port']}", f"chat:{chat_metrics_port}"]
    assert option(compose["services"]["chat"]["command"], "--metrics-host") == "0.0.0.0"
    assert job.get("metrics_path", "/metrics") == "/metrics"


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
