"""docker-compose.yml, the Dockerfiles and the Asterisk configuration agree with each other.

No Docker engine is needed: the compose file is parsed with PyYAML, and also checked by
``docker compose config`` / ``docker-compose config`` when either is installed (both work
offline).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
PRIVATE_PORTS = {"5038", "4573"}  # AMI, FastAGI
# Files make-secrets writes on the site; they exist only after it ran.
GENERATED = {"asterisk-config/secrets/ami_secret", "asterisk-config/secrets/phones.csv"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def _conf_value(file: str, key: str) -> list[str]:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=\s*([^;\s]+)", re.M)
    return pattern.findall((ROOT / "asterisk-config" / file).read_text())


def test_the_stack_has_asterisk_hotline_and_the_sip_harness(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {"asterisk", "hotline", "harness"}
    assert compose["services"]["harness"]["profiles"] == ["live"]


def test_the_asterisk_image_is_pinned_to_an_exact_release(compose: dict[str, Any]) -> None:
    image = compose["services"]["asterisk"]["image"]
    name, _, tag = image.partition(":")
    assert name == "andrius/asterisk"
    assert re.fullmatch(r"2[02]\.\d+\.\d+_[a-z-]+", tag), image


def test_every_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        check = service.get("healthcheck", {})
        assert check.get("test") and check["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert check.get("interval") and check.get("retries"), name


def _published(service: dict[str, Any]) -> list[tuple[str, str]]:
    ports = []
    for entry in service.get("ports", []):
        text = str(entry)
        host, _, container = text.rpartition(":")
        protocol = container.partition("/")[2] or "tcp"
        ports.append((container.partition("/")[0], protocol))
        assert host, f"{text}: publish with an explicit host port"
    return ports


def test_only_sip_rtp_and_the_pages_are_published(compose: dict[str, Any]) -> None:
    services = compose["services"]
    rtp = f"{_conf_value('rtp.conf', 'rtpstart')[0]}-{_conf_value('rtp.conf', 'rtpend')[0]}"
    assert _published(services["asterisk"]) == [("5060", "udp"), (rtp, "udp")]
    assert _published(services["hotline"]) == [("8080", "tcp")]
    assert _published(services["harness"]) == []
    for name, service in services.items():
        for port, _ in _published(service):
            assert port not in PRIVATE_PORTS, f"{name} publishes {port}"


def test_bind_mounts_and_build_contexts_exist_in_the_repository(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"].get("dockerfile", "Dockerfile")).is_file(), name
    for secret in compose["secrets"].values():
        path = secret["file"].removeprefix("./")
        assert path in GENERATED, path
        make_secrets = (ROOT / "asterisk-config" / "make-secrets").read_text()
        assert Path(path).name in make_secrets


def test_asterisk_mounts_the_configuration_read_only_and_shares_the_recordings(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert "./asterisk-config:/etc/asterisk:ro" in services["asterisk"]["volumes"]
    assert "recordings:/var/spool/asterisk/monitor" in services["asterisk"]["volumes"]
    assert "recordings:/var/spool/asterisk/monitor" in services["hotline"]["volumes"]
    spool = _conf_value("extensions.conf", "HOTLINE_SPOOL")
    assert spool == [services["hotline"]["environment"]["HOTLINE_RECORDING_SPOOL_DIR"]]


def test_prompts_hotline_generates_are_where_asterisk_plays_them(compose: dict[str, Any]) -> None:
    services = compose["services"]
    prompts = services["hotline"]["environment"]["HOTLINE_AGI_PROMPTS_DIR"]
    shared = [
        volume.split(":")[1]
        for volume in services["hotline"]["volumes"]
        if volume in services["asterisk"]["volumes"] and prompts.startswith(volume.split(":")[1] + "/")
    ]
    assert shared == ["/var/lib/asterisk/sounds"], "the IVR's prompts must be on a volume Asterisk mounts too"
    assert services["hotline"]["environment"]["HOTLINE_AGI_MENUS_DIR"].startswith("/opt/hotline/")


def test_no_secret_is_written_in_clear(compose: dict[str, Any]) -> None:
    text = COMPOSE.read_text()
    assert "hotline-secret" not in text
    for name, service in compose["services"].items():
        for key, value in service.get("environment", {}).items():
            if re.search(r"SECRET|PASSWORD|SESSION_KEY", key):
                assert key.endswith("_FILE") and str(value).startswith("/run/secrets/"), f"{name}: {key}"


def test_the_addresses_match_what_asterisk_trusts(compose: dict[str, Any]) -> None:
    services = compose["services"]
    hotline_ip = services["hotline"]["networks"]["private"]["ipv4_address"]
    permits = _conf_value("manager.conf", "permit")
    assert permits == [f"{hotline_ip}/255.255.255.255"]
    # The harness stands in for Hotline: same address, and the name the dialplan's AGI uses.
    assert services["harness"]["networks"]["private"]["ipv4_address"] == hotline_ip
    assert "hotline" in services["harness"]["networks"]["private"]["aliases"]
    assert "agi://hotline:4573/ivr" in _conf_value("extensions.conf", "HOTLINE_AGI")
    carrier_ip = services["harness"]["networks"]["carrier"]["ipv4_address"]
    assert _conf_value("pjsip_trunk.conf", "match") == [carrier_ip]
    assert _conf_value("pjsip_trunk.conf", "contact") == [f"sip:{carrier_ip}:5090"]
    assert services["hotline"]["environment"]["HOTLINE_AMI_HOST"] == "asterisk"


def test_the_hotline_image_is_built_as_specified() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.splitlines()[1] == "FROM python:3.11-slim-bookworm"
    assert re.search(r"apt-get install -y --no-install-recommends ffmpeg sox espeak-ng", dockerfile)
    assert "pip install --no-cache-dir ." in dockerfile
    assert 'CMD ["hotline", "serve"]' in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", "asterisk-config/secrets", "var"} <= set(ignored)


def test_the_harness_image_has_sipp_and_what_hotline_needs_to_run() -> None:
    dockerfile = (ROOT / "tests" / "sip" / "Dockerfile").read_text()
    assert "FROM python:3.11-slim-bookworm" in dockerfile  # the Hotline image's base
    assert "sip-tester" in dockerfile and "ffmpeg" in dockerfile
    assert "pip install --no-cache-dir '/opt/hotline-build[test]'" in dockerfile
    harness = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["harness"]
    assert harness["build"] == {"context": ".", "dockerfile": "tests/sip/Dockerfile"}
    mounts = {volume.split(":")[0]: volume.split(":")[1] for volume in harness["volumes"]}
    assert mounts["asterisk-logs"] == "/var/log/asterisk"  # queue_log, read-only
    assert mounts["sounds"] == "/var/lib/asterisk/sounds"  # the IVR's prompts, where Asterisk plays them


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=20)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def test_docker_compose_accepts_the_file_offline() -> None:
    command = _compose_command()
    if command is None:
        pytest.skip(
            "neither `docker compose` nor `docker-compose` is installed; the YAML checks above still ran"
        )
    for profile in ([], ["--profile", "live"]):
        result = subprocess.run(
            [*command, "-f", str(COMPOSE), *profile, "config", "-q"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
