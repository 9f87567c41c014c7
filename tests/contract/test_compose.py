"""docker-compose.yml and the Dockerfile it builds, checked by reading (no Docker engine here)."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
# The address a grpc.health.v1 health check dials, e.g. grpc.insecure_channel('127.0.0.1:50052').
HEALTH_CHANNEL = re.compile(r"insecure_channel\('127\.0\.0\.1:(\d+)'\)")
SETTINGS = {
    "HONGYUN_DATABASE_URL",
    "HONGYUN_NATS_URL",
    "HONGYUN_OTLP_ENDPOINT",
    "HONGYUN_LOG_LEVEL",
    "HONGYUN_FIELD_KEYS",
    "HONGYUN_FIELD_KEY_ACTIVE",
    "HONGYUN_FIELD_ALGORITHM",
    "HONGYUN_BLIND_INDEX_KEY",
    "HONGYUN_JWT_SECRET",
    "HONGYUN_STORAGE_KIND",
    "HONGYUN_S3_ENDPOINT",
    "HONGYUN_S3_ACCESS_KEY",
    "HONGYUN_S3_SECRET_KEY",
    "HONGYUN_S3_BUCKET",
    "HONGYUN_S3_SECURE",
}


def interpolate(value: Any) -> Any:
    """What Compose makes of a value when no variable is set: ${X:-default} → default."""
    if not isinstance(value, str):
        return value
    return INTERPOLATION.sub(lambda m: m.group(2) or "", value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def services(compose) -> dict[str, dict[str, Any]]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: interpolate(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def built_here(services) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in services.items() if "build" in svc}


def health_check_port(service: dict[str, Any]) -> int:
    test = service["healthcheck"]["test"]
    match = HEALTH_CHANNEL.search(" ".join(test) if isinstance(test, list) else test)
    assert match, f"no grpc.health.v1 check on 127.0.0.1: {test}"
    return int(match.group(1))


def settings_of(settings_cls: type, env: dict[str, str], monkeypatch) -> Any:
    """What a process's own settings class makes of a container's environment (and nothing else
    from the machine running the tests)."""
    for key in list(os.environ):
        if key.startswith("HONGYUN_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings_cls()


def test_the_platform_and_its_stores_are_all_there(services):
    assert {"postgres", "nats", "minio", "member-migrate", "gateway-migrate"} <= set(services)
    assert {"learning-migrate"} <= set(services)
    assert {"member", "learning", "gateway"} <= set(services)
    # The header comment says what the file starts: every server built here is named there.
    header = COMPOSE.read_text(encoding="utf-8").split("\nname:", 1)[0]
    for name in built_here(services):
        if not name.endswith("-migrate"):
            assert re.search(rf"\b{name}\b", header), f"header does not mention {name}"
    assert services["postgres"]["image"] == "postgres:18"
    assert re.fullmatch(r"nats:2\.11(\.\d+)?(-alpine)?", services["nats"]["image"])
    assert "-js" in services["nats"]["command"]


def test_every_dependency_exists_and_has_a_meaningful_condition(services):
    for name, svc in services.items():
        for dep, condition in depends_on(svc).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            assert condition in {
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            }
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health check"
            if condition == "service_completed_successfully":
                assert services[dep].get("restart", "no") == "no", f"{dep} must be a one-shot"


def test_dependencies_have_no_cycle(services):
    state: dict[str, str] = {}

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert state.get(name) != "open", f"cycle: {' -> '.join((*trail, name))}"
        if state.get(name) == "done":
            return
        state[name] = "open"
        for dep in depends_on(services[name]):
            visit(dep, (*trail, name))
        state[name] = "done"

    for name in services:
        visit(name, ())


def test_migrations_and_streams_run_once_before_the_member_service(services):
    migrate = services["member-migrate"]
    command = " ".join(migrate["command"])
    assert command.index("hongyun-member migrate") < command.index("provision-streams")
    assert "&&" in command  # streams only after a successful migration
    assert depends_on(migrate) == {"postgres": "service_healthy", "nats": "service_healthy"}
    assert depends_on(services["member"])["member-migrate"] == "service_completed_successfully"
    assert services["member"]["command"] == ["hongyun-member", "serve"]


def test_migrations_and_streams_run_once_before_the_learning_service(services):
    migrate = services["learning-migrate"]
    command = " ".join(migrate["command"])
    assert command.index("hongyun-learning migrate") < command.index(
        "hongyun-learning provision-streams"
    )
    assert "&&" in command  # the LEARNING stream only after a successful migration
    assert depends_on(migrate) == {"postgres": "service_healthy", "nats": "service_healthy"}
    assert migrate.get("restart") == "no"

    learning = services["learning"]
    assert learning["command"] == ["hongyun-learning", "serve"]
    assert depends_on(learning) == {
        "learning-migrate": "service_completed_successfully",
        # Its directory projection consumes the MEMBER stream, which member-migrate provisions.
        "member-migrate": "service_completed_successfully",
        # Study materials live in the bucket that minio-init creates.
        "minio-init": "service_completed_successfully",
        "postgres": "service_healthy",
        "nats": "service_healthy",
    }
    assert learning.get("restart") == "unless-stopped"
    # The same grpc.health.v1 check as the member service's, on the learning service's own port.
    member_check = " ".join(services["member"]["healthcheck"]["test"])
    learning_check = " ".join(learning["healthcheck"]["test"])
    assert learning_check == member_check.replace("127.0.0.1:50051", "127.0.0.1:50052")
    assert health_check_port(learning) == 50052
    assert "SERVING" in learning_check


def test_the_learning_service_listens_where_its_health_check_and_the_gateway_dial(
    services, monkeypatch
):
    """Read by the services' own settings classes: the variable names are the ones they read."""
    gateway_settings = pytest.importorskip("hongyun_gateway.settings")
    learning_config = pytest.importorskip("learning_service.config")
    member_config = pytest.importorskip("member_service.config")
    gateway = settings_of(
        gateway_settings.GatewaySettings, environment(services["gateway"]), monkeypatch
    )
    learning = settings_of(
        learning_config.LearningSettings, environment(services["learning"]), monkeypatch
    )
    member = settings_of(member_config.MemberSettings, environment(services["member"]), monkeypatch)
    assert gateway.learning_grpc_target == f"learning:{learning.grpc_port}"
    assert gateway.member_grpc_target == f"member:{member.grpc_port}"
    assert health_check_port(services["learning"]) == learning.grpc_port
    assert health_check_port(services["member"]) == member.grpc_port
    assert learning.grpc_port != member.grpc_port


def test_the_gateway_is_wired_to_the_member_service(services):
    gateway = services["gateway"]
    env = environment(gateway)
    host, _, port = env["HONGYUN_MEMBER_GRPC_TARGET"].rpartition(":")
    assert host == "member" and port == "50051"
    assert depends_on(gateway).get("member") == "service_healthy"
    # uvicorn's default 127.0.0.1 would be unreachable from the published port.
    assert env["HONGYUN_GATEWAY_HOST"] == "0.0.0.0"
    assert any(str(p).endswith(":8000") for p in gateway["ports"])
    assert gateway["command"] == ["hongyun-gateway", "serve"]
    assert depends_on(gateway)["gateway-migrate"] == "service_completed_successfully"
    assert services["gateway-migrate"]["command"] == ["hongyun-gateway", "migrate"]


def test_the_gateway_is_wired_to_the_learning_service(services):
    gateway = services["gateway"]
    env = environment(gateway)
    host, _, port = env["HONGYUN_GATEWAY_LEARNING_GRPC_TARGET"].rpartition(":")
    assert host == "learning" and port == "50052"
    # Serving only once the learning service reports SERVING, like the member service.
    assert depends_on(gateway).get("learning") == "service_healthy"
    assert "healthcheck" in services["learning"]


def test_every_hongyun_process_gets_the_documented_settings(services):
    for name, svc in built_here(services).items():
        env = environment(svc)
        missing = SETTINGS - set(env)
        assert not missing, f"{name} lacks {sorted(missing)}"
        assert urlsplit(env["HONGYUN_DATABASE_URL"]).hostname == "postgres", name
        assert urlsplit(env["HONGYUN_NATS_URL"]).hostname == "nats", name
        assert env["HONGYUN_S3_ENDPOINT"].split(":")[0] == "minio", name
        assert env["HONGYUN_FIELD_ALGORITHM"] in {"AES-GCM", "SM4-GCM"}, name


def test_services_connect_as_a_role_that_row_level_security_applies_to(compose, services):
    """A superuser or the tables' owner would bypass RLS; only migrations use the owner role."""
    runtime_users = {
        urlsplit(environment(svc)["HONGYUN_DATABASE_URL"]).username
        for svc in built_here(services).values()
    }
    servers = {name: svc for name, svc in built_here(services).items() if "migrate" not in name}
    assert {
        urlsplit(environment(svc)["HONGYUN_DATABASE_URL"]).username for svc in servers.values()
    } == {"hongyun_app"}
    for svc in servers.values():
        assert not any(k.endswith("MIGRATION_DATABASE_URL") for k in environment(svc))
        assert "HONGYUN_GATEWAY_DATABASE_URL" not in environment(svc)
    assert runtime_users == {"hongyun_app"}
    for service, variable in (
        ("member-migrate", "HONGYUN_MEMBER_MIGRATION_DATABASE_URL"),
        ("learning-migrate", "HONGYUN_LEARNING_MIGRATION_DATABASE_URL"),
    ):
        owner = urlsplit(environment(services[service])[variable])
        assert owner.username == "hongyun_owner", service
        assert (owner.hostname, owner.path) == ("postgres", "/hongyun"), service
    init_sql = interpolate(compose["configs"]["postgres-roles"]["content"])
    assert re.search(r"CREATE ROLE hongyun_app\b[^;]*NOSUPERUSER[^;]*NOBYPASSRLS", init_sql)
    assert "CREATE DATABASE hongyun OWNER hongyun_owner" in init_sql
    assert services["postgres"]["environment"]["POSTGRES_USER"] not in {"hongyun_app"}


def test_one_image_from_the_dockerfile_runs_every_hongyun_process(services):
    built = built_here(services)
    assert {"member-migrate", "gateway-migrate", "member", "gateway"} <= set(built)
    assert {"learning-migrate", "learning"} <= set(built)
    assert len({svc["image"] for svc in built.values()}) == 1
    for svc in built.values():
        build = svc["build"]
        context = build if isinstance(build, str) else build.get("context", ".")
        assert (REPO / context / "Dockerfile").is_file()
        assert svc.get("read_only") is True  # as the chart's readOnlyRootFilesystem
        assert "ALL" in svc.get("cap_drop", [])


def test_volumes_and_configs_referenced_are_declared(compose, services):
    for name, svc in services.items():
        for mount in svc.get("volumes", []):
            source = mount.split(":")[0] if isinstance(mount, str) else mount["source"]
            if not source.startswith((".", "/")):
                assert source in compose.get("volumes", {}), f"{name}: volume {source}"
        for config in svc.get("configs", []):
            source = config if isinstance(config, str) else config["source"]
            assert source in compose.get("configs", {}), f"{name}: config {source}"


def test_third_party_images_are_pinned(services):
    for name, svc in services.items():
        if "build" in svc:
            continue
        image = svc["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"


# --- the Dockerfile ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text(encoding="utf-8")


def test_dockerfile_builds_from_the_lock_on_python_311_slim(dockerfile):
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", dockerfile, re.MULTILINE)
    assert len(re.findall(r"^FROM \$\{PYTHON_IMAGE\} AS \w+", dockerfile, re.MULTILINE)) == 2
    syncs = re.findall(r"uv sync ([^\n\\&]*)", dockerfile)
    assert syncs and all("--frozen" in s and "--no-dev" in s for s in syncs), syncs
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    uv_make = re.search(r"^UV_VERSION := (\S+)", makefile, re.MULTILINE)
    uv_docker = re.search(r"^ARG UV_VERSION=(\S+)", dockerfile, re.MULTILINE)
    assert uv_make and uv_docker and uv_make.group(1) == uv_docker.group(1)


def test_dockerfile_runs_as_the_non_root_uid_the_chart_expects(dockerfile):
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users, "the image must not run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) > 0, "numeric, so Kubernetes can verify runAsNonRoot"
    values = yaml.safe_load((REPO / "deploy/helm/hongyun/values.yaml").read_text(encoding="utf-8"))
    assert int(uid) == values["podSecurity"]["runAsUser"]


def test_dockerfile_copies_every_workspace_member(dockerfile):
    """A new service added to the workspace must also reach the image."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    members = root["tool"]["uv"]["workspace"]["members"]
    for member in members:
        assert f"COPY {member}/pyproject.toml {member}/pyproject.toml" in dockerfile, member
        top = member.split("/")[0]
        assert re.search(rf"^COPY {top}/ {top}/$", dockerfile, re.MULTILINE), member
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    }
    for needed in ("uv.lock", "pyproject.toml", *members):
        assert needed not in ignored, needed
