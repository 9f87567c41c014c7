"""The Helm chart in deploy/helm/hongyun, checked without a helm binary or a cluster.

What always runs: values.yaml against the structure of values.schema.json, the services' shape
(image, port, console script, probes), the migration hook Job, the NetworkPolicy intent, pod
hardening in the helpers every pod uses, namespaces, and balanced template blocks.
What runs when its package is importable: full JSON-Schema validation (`jsonschema`) and a real
render of the chart (`helm_python`, from the helm-python-sdk package).
"""

from __future__ import annotations

import copy
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "deploy" / "helm" / "hongyun"
TEMPLATES = CHART / "templates"
HOOK_ANNOTATION = re.compile(r'^\s*"?helm\.sh/hook"?\s*:\s*"?([^"#\n]+)"?\s*$', re.MULTILINE)
# Every HONGYUN_* setting that is not a secret must reach the pods from the chart's config.
NON_SECRET_SETTINGS = {
    "HONGYUN_LOG_LEVEL",
    "HONGYUN_NATS_URL",
    "HONGYUN_OTLP_ENDPOINT",
    "HONGYUN_FIELD_ALGORITHM",
    "HONGYUN_FIELD_KEY_ACTIVE",
    "HONGYUN_STORAGE_KIND",
    "HONGYUN_S3_ENDPOINT",
    "HONGYUN_S3_BUCKET",
    "HONGYUN_S3_SECURE",
}
POD_HARDENING = (
    "runAsNonRoot: true",
    "readOnlyRootFilesystem: true",
    "allowPrivilegeEscalation: false",
    "type: RuntimeDefault",
)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def values() -> dict[str, Any]:
    return load_yaml(CHART / "values.yaml")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def helpers() -> str:
    return (TEMPLATES / "_helpers.tpl").read_text(encoding="utf-8")


def template_files() -> list[Path]:
    return sorted(p for p in TEMPLATES.iterdir() if p.suffix in {".yaml", ".yml", ".tpl", ".txt"})


def console_scripts() -> set[str]:
    """The console scripts the workspace packages install (what a container command can run)."""
    root = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    scripts: set[str] = set()
    for member in root["tool"]["uv"]["workspace"]["members"]:
        pyproject = tomllib.loads((REPO / member / "pyproject.toml").read_text(encoding="utf-8"))
        scripts.update(pyproject.get("project", {}).get("scripts", {}))
    return scripts


def merged(base: Any, override: Any) -> Any:
    """Helm's merge of a user values file over values.yaml: maps merge, everything else replaces."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {k: merged(base.get(k), v) for k, v in override.items()} | {
            k: v for k, v in base.items() if k not in override
        }
    return copy.deepcopy(override)


def ci_values(values: dict[str, Any]) -> dict[str, Any]:
    return merged(values, load_yaml(CHART / "ci" / "external-services-values.yaml"))


def effective_image(values: dict[str, Any], svc: dict[str, Any]) -> dict[str, Any]:
    return {**values["image"], **{k: v for k, v in svc.get("image", {}).items() if v}}


# --- values against the schema -------------------------------------------------------------------


def resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local $refs are expected, got {ref}"
        node = root
        for part in ref[2:].split("/"):
            node = node[part]
    return node


def schema_problems(value: Any, node: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    """Undeclared keys and missing required keys: the part of the schema that a typo in values
    would trip over. A deliberately small walker, so that this test runs without jsonschema."""
    node = resolve(node, root)
    problems: list[str] = []
    if isinstance(value, dict):
        props = node.get("properties", {})
        extra = node.get("additionalProperties", True)
        problems += [
            f"{path}.{key}: required" for key in node.get("required", []) if key not in value
        ]
        for key, child in value.items():
            if key in props:
                problems += schema_problems(child, props[key], root, f"{path}.{key}")
            elif extra is False:
                problems.append(f"{path}.{key}: not declared in values.schema.json")
            elif isinstance(extra, dict):
                problems += schema_problems(child, extra, root, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(node.get("items"), dict):
        for i, item in enumerate(value):
            problems += schema_problems(item, node["items"], root, f"{path}[{i}]")
    return problems


def test_every_values_key_is_declared_and_required_keys_are_present(values, schema):
    assert schema_problems(values, schema, schema, "values") == []
    assert schema_problems(ci_values(values), schema, schema, "ci-values") == []


def test_the_walker_catches_a_misspelt_key(values, schema):
    broken = copy.deepcopy(values)
    broken["services"]["member"]["replica"] = 3
    assert schema_problems(broken, schema, schema, "values") == [
        "values.services.member.replica: not declared in values.schema.json"
    ]
    broken = copy.deepcopy(values)
    broken["services"]["learning"]["probes"]["readiness"]["period"] = 5
    del broken["services"]["learning"]["resources"]
    assert schema_problems(broken, schema, schema, "values") == [
        "values.services.learning.resources: required",
        "values.services.learning.probes.readiness.period: not declared in values.schema.json",
    ]


def test_schema_is_strict_everywhere_it_describes_structure(schema):
    """Every object the schema lists properties for rejects keys it does not list."""
    loose: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties") is not False:
                loose.append(path or "(root)")
            for key, child in node.items():
                walk(child, f"{path}/{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{path}/{i}")

    walk(schema, "")
    assert loose == []


def test_values_validate_against_the_schema_with_jsonschema(values, schema):
    jsonschema = pytest.importorskip(
        "jsonschema", reason="jsonschema is not installed (add it to the dev dependency group)"
    )
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    validator.validate(values)
    validator.validate(ci_values(values))

    def errors(mutate) -> list[str]:
        broken = copy.deepcopy(values)
        mutate(broken)
        return [e.message for e in validator.iter_errors(broken)]

    assert errors(lambda v: v.update(servcies={}))  # misspelt top-level key
    assert errors(lambda v: v["services"]["member"].update(protocol="tcp"))
    assert errors(lambda v: v["services"]["member"].pop("port"))
    assert errors(lambda v: v["config"].update(fieldAlgorithm="XOR"))
    assert errors(lambda v: v["secret"]["stringData"].update(database_url="x"))
    assert errors(lambda v: v["migrations"].update(reindexSearch="yes"))
    # The learning entry is held to the same shape as every service.
    assert errors(lambda v: v["services"]["learning"].update(grpcPort=50052))
    assert errors(lambda v: v["services"]["learning"]["probes"]["liveness"].update(grpcSvc=""))
    assert errors(lambda v: v["services"]["learning"].update(port=443))
    assert errors(lambda v: v["services"]["learning"]["probes"].pop("readiness"))
    assert errors(lambda v: v["services"]["learning"]["resources"]["limits"].update(mem="1Gi"))
    assert errors(lambda v: v["migrations"]["steps"][2].update(image="x"))


# --- services ------------------------------------------------------------------------------------


def test_every_service_has_an_image_a_port_a_console_script_and_probes(values):
    scripts = console_scripts()
    assert {"member", "learning", "gateway"} <= set(values["services"])
    for name, svc in values["services"].items():
        image = effective_image(values, svc)
        assert image.get("repository"), f"{name}: no image repository"
        assert image.get("pullPolicy") in {"Always", "IfNotPresent", "Never"}, name
        assert isinstance(svc["port"], int) and 1024 <= svc["port"] <= 65535, name
        assert svc["command"][0] in scripts, f"{name}: {svc['command'][0]} is no console script"
        assert svc["protocol"] in {"grpc", "http"}, name
        probes = svc["probes"]
        assert {"readiness", "liveness"} <= set(probes), f"{name}: readiness and liveness needed"
        if svc["protocol"] == "grpc":
            # Native gRPC probes talk grpc.health.v1; an HTTP path would mean a mistake.
            assert not any("path" in p for p in probes.values()), name
        else:
            assert probes["readiness"].get("path", "/readyz") == "/readyz", name
            assert probes["liveness"].get("path", "/healthz") == "/healthz", name
        resources = svc["resources"]
        assert resources["requests"].get("cpu") and resources["requests"].get("memory"), name
        assert resources["limits"].get("memory"), f"{name}: a memory limit is needed"


def test_service_ports_are_distinct(values):
    ports = [svc["port"] for svc in values["services"].values()]
    assert len(ports) == len(set(ports))


def test_the_shipped_services_run_the_documented_commands(values):
    services = values["services"]
    assert services["member"]["protocol"] == "grpc"
    assert services["member"]["port"] == 50051
    assert services["member"]["command"] == ["hongyun-member", "serve"]
    learning = services["learning"]
    assert learning["enabled"] is True
    assert learning["protocol"] == "grpc"
    assert learning["port"] == 50052
    assert learning["command"] == ["hongyun-learning", "serve"]
    # As available as the member service: a PodDisruptionBudget and rolling updates need 2.
    assert learning["replicas"] >= 2
    assert set(learning["probes"]) == {"startup", "readiness", "liveness"}
    assert "hongyun-learning" in console_scripts()
    assert services["gateway"]["protocol"] == "http"
    assert services["gateway"]["port"] == 8000
    assert services["gateway"]["command"] == ["hongyun-gateway", "serve"]
    # uvicorn binds 127.0.0.1 by default, where neither probes nor other pods reach it.
    assert services["gateway"]["env"]["HONGYUN_GATEWAY_HOST"] == "0.0.0.0"


def test_probe_template_uses_native_grpc_and_http_get(helpers):
    probe = helpers[helpers.index('define "hongyun.probe"') :]
    assert re.search(r"^grpc:\n  port: \{\{ \.svc\.port \}\}", probe, re.MULTILINE)
    assert "httpGet:" in probe
    loop = (TEMPLATES / "services.yaml").read_text(encoding="utf-8")
    for kind in ("readinessProbe", "livenessProbe"):
        assert re.search(rf'{kind}:\n\s+\{{\{{- include "hongyun.probe"', loop), kind


def test_one_template_loops_over_all_services():
    loop = (TEMPLATES / "services.yaml").read_text(encoding="utf-8")
    assert "range $name, $svc := .Values.services" in loop
    for kind in ("Deployment", "Service", "NetworkPolicy"):
        assert re.search(rf"^kind: {kind}$", loop, re.MULTILINE), kind
    # No other template renders a Deployment: new services are values, not templates.
    others = [p.name for p in template_files() if p.name != "services.yaml"]
    for name in others:
        assert "kind: Deployment" not in (TEMPLATES / name).read_text(encoding="utf-8"), name


# --- configuration and secrets -------------------------------------------------------------------


def test_every_non_secret_setting_is_rendered_by_the_chart(helpers):
    config = helpers[helpers.index('define "hongyun.configData"') :]
    rendered = set(re.findall(r"^(HONGYUN_[A-Z0-9_]+):", config, re.MULTILINE))
    assert rendered >= NON_SECRET_SETTINGS
    assert "_GRPC_TARGET" in config  # HONGYUN_<SERVICE>_GRPC_TARGET for every gRPC service


def test_values_hold_no_secrets_by_default(values):
    assert values["secret"]["create"] is False
    assert not values["secret"].get("stringData")
    text = (CHART / "values.yaml").read_text(encoding="utf-8")
    assert not re.search(r"^\s*HONGYUN_(JWT_SECRET|FIELD_KEYS|BLIND_INDEX_KEY)\s*:", text, re.M)


def test_pods_read_settings_from_the_secret_and_the_configmap():
    loop = (TEMPLATES / "services.yaml").read_text(encoding="utf-8")
    assert "secretRef:" in loop and "configMapRef:" in loop
    configmap = (TEMPLATES / "configmap.yaml").read_text(encoding="utf-8")
    assert re.search(r"^kind: ConfigMap$", configmap, re.MULTILINE)
    assert 'include "hongyun.configData"' in configmap


# --- the migration hook Job ----------------------------------------------------------------------


def test_migrations_run_in_a_pre_install_pre_upgrade_hook_job(values):
    job = (TEMPLATES / "migrations-job.yaml").read_text(encoding="utf-8")
    assert re.search(r"^kind: Job$", job, re.MULTILINE)
    hooks = HOOK_ANNOTATION.findall(job)
    assert len(hooks) == 1, hooks
    assert set(hooks[0].replace(" ", "").split(",")) == {"pre-install", "pre-upgrade"}
    assert '"helm.sh/hook-delete-policy"' in job
    assert "restartPolicy: Never" in job
    # The ConfigMap is a normal release resource, created only after pre-install hooks: the Job
    # must not depend on it.
    assert "configMapRef" not in job

    steps = values["migrations"]["steps"]
    commands = [step["command"] for step in steps]
    assert commands == [
        ["hongyun-member", "migrate"],
        ["hongyun-gateway", "migrate"],  # the gateway owns the identity schema
        ["hongyun-learning", "migrate"],
        ["hongyun-member", "provision-streams"],
        ["hongyun-learning", "provision-streams"],
    ]
    for step in steps:
        assert step["service"] in values["services"], step
        # A step runs in the image of the service whose console script it calls.
        assert step["command"][0] == f"hongyun-{step['service']}", step
    # Streams only once every schema is migrated (a failed migration provisions nothing), and
    # both before any Deployment: learning consumes MEMBER, member waits for LEARNING.
    names = [step["name"] for step in steps]
    last_migration = max(i for i, n in enumerate(names) if n.endswith("-migrate"))
    assert names.index("learning-migrate") < names.index("learning-provision-streams")
    assert all(i > last_migration for i, n in enumerate(names) if n.endswith("-streams"))
    # A real installation's values run the same steps.
    assert ci_values(values)["migrations"]["steps"] == steps


def test_the_search_reindex_is_an_opt_in_last_step_of_the_hook_job(values, schema):
    """ADR 0008: `hongyun-member reindex-search` after the migrations when
    migrations.reindexSearch is true; off by default (a first run rewrites every member)."""
    assert values["migrations"]["reindexSearch"] is False
    assert schema["properties"]["migrations"]["properties"]["reindexSearch"]["type"] == "boolean"
    assert not any("reindex-search" in step["command"] for step in values["migrations"]["steps"])
    job = re.sub(
        r"\{\{-?\s*/\*.*?\*/\s*-?\}\}",
        "",
        (TEMPLATES / "migrations-job.yaml").read_text(encoding="utf-8"),
        flags=re.S,
    )
    guarded = re.search(
        r"\{\{-? if \.Values\.migrations\.reindexSearch \}\}(.*?)\{\{-? end \}\}", job, re.S
    )
    assert guarded, "the reindex step must depend on migrations.reindexSearch"
    assert '(list "hongyun-member" "reindex-search")' in guarded.group(1)
    assert "append $steps" in guarded.group(1)  # after the configured steps, not before
    assert "reindex-search" not in job.replace(guarded.group(1), "")
    assert "hongyun-member" in console_scripts()


def test_no_service_migrates_at_start_up(values):
    for name, svc in values["services"].items():
        assert "migrate" not in svc["command"], f"{name} must not run migrations in its replicas"


def test_a_chart_created_secret_exists_before_the_hook_job():
    secret = (TEMPLATES / "secret.yaml").read_text(encoding="utf-8")
    hooks = HOOK_ANNOTATION.findall(secret)
    assert hooks and set(hooks[0].replace(" ", "").split(",")) == {"pre-install", "pre-upgrade"}
    weight = re.search(r'"helm\.sh/hook-weight":\s*"(-?\d+)"', secret)
    job_weight = re.search(
        r'"helm\.sh/hook-weight":\s*"(-?\d+)"',
        (TEMPLATES / "migrations-job.yaml").read_text(encoding="utf-8"),
    )
    assert weight and job_weight and int(weight.group(1)) < int(job_weight.group(1))


# --- network policy ------------------------------------------------------------------------------


def test_member_and_learning_accept_connections_from_the_gateway_only(values):
    assert values["networkPolicy"]["enabled"] is True
    assert values["services"]["member"]["allowFrom"] == ["gateway"]
    assert values["services"]["learning"]["allowFrom"] == ["gateway"]
    for name, svc in values["services"].items():
        for caller in svc.get("allowFrom", []):
            assert caller in values["services"], f"{name}.allowFrom names unknown {caller}"
    loop = (TEMPLATES / "services.yaml").read_text(encoding="utf-8")
    assert "policyTypes:\n    - Ingress" in loop


# --- hardening, namespaces, no bundled stores ----------------------------------------------------


def test_helpers_harden_every_pod(helpers):
    for line in POD_HARDENING:
        assert line in helpers, line
    assert re.search(r"drop:\n\s+- ALL", helpers)
    # Kubernetes would inject e.g. HONGYUN_GATEWAY_PORT=tcp://…, which the settings would parse.
    assert "enableServiceLinks: false" in helpers
    assert "automountServiceAccountToken: false" in helpers


def test_every_pod_template_uses_the_hardening_helpers():
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        if path.name.startswith("_") or "containers:" not in text:
            continue
        assert 'include "hongyun.podCommon"' in text, path.name
        # Each template renders its containers from one block (in a loop for the Job's steps):
        # that block carries the container hardening, and nothing overrides it afterwards.
        assert text.count('include "hongyun.containerSecurityContext"') == 1, path.name
        assert "privileged: true" not in text and "readOnlyRootFilesystem: false" not in text


def test_no_template_hard_codes_a_namespace():
    for path in template_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"^\s*namespace:", line):
                assert ".Release.Namespace" in line, f"{path.name}:{number}: {line.strip()}"
            assert not re.match(r"^kind:\s*Namespace\b", line), f"{path.name}:{number}"


def test_no_stateful_store_is_bundled():
    chart = load_yaml(CHART / "Chart.yaml")
    assert chart["apiVersion"] == "v2"
    assert chart["name"] == "hongyun"
    assert re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", str(chart["version"]))
    assert chart.get("appVersion")
    assert not chart.get("dependencies"), "PostgreSQL/NATS/MinIO are external, not subcharts"
    for path in [*template_files(), CHART / "values.yaml"]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"^kind:\s*(StatefulSet|PersistentVolumeClaim)\b", text, re.M), path
        assert not re.search(r"image:.*\b(postgres|nats|minio)\b", text), path


def test_template_blocks_are_balanced():
    opener = re.compile(r"\{\{-?\s*(if|range|with|define|block)\b")
    closer = re.compile(r"\{\{-?\s*end\s*-?\}\}")
    for path in template_files():
        text = re.sub(
            r"\{\{-?\s*/\*.*?\*/\s*-?\}\}", "", path.read_text(encoding="utf-8"), flags=re.S
        )
        assert text.count("{{") == text.count("}}"), path.name
        assert len(opener.findall(text)) == len(closer.findall(text)), path.name


# --- a real render, where the Helm SDK is installed ----------------------------------------------


def test_chart_renders_to_hardened_manifests_with_the_helm_sdk(values):
    helm = pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed (no helm binary is needed with it)"
    )
    lint = helm.lint(str(CHART), strict=True, kube_version="v1.31.0")
    assert lint["errors"] == [], lint
    assert [m for m in lint["messages"] if m["severity"] >= 2] == [], lint

    rendered = helm.Chart.load(str(CHART)).render(
        None, name="hy", namespace="party", is_install=True
    )
    docs = [
        doc
        for path, text in rendered.items()
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc
    ]
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        assert "namespace" not in doc["metadata"], doc["metadata"]["name"]
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc

    pods = [d["spec"]["template"]["spec"] for d in by_kind["Deployment"].values()]
    pods += [j["spec"]["template"]["spec"] for j in by_kind["Job"].values()]
    for pod in pods:
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["enableServiceLinks"] is False
        for container in pod["containers"] + pod.get("initContainers", []):
            ctx = container["securityContext"]
            assert ctx["readOnlyRootFilesystem"] is True, container["name"]
            assert ctx["capabilities"]["drop"] == ["ALL"], container["name"]
            assert ctx["allowPrivilegeEscalation"] is False, container["name"]

    member = by_kind["Deployment"]["hy-hongyun-member"]["spec"]["template"]["spec"]
    assert member["containers"][0]["readinessProbe"]["grpc"] == {"port": 50051}
    assert member["containers"][0]["livenessProbe"]["grpc"] == {"port": 50051}
    gateway = by_kind["Deployment"]["hy-hongyun-gateway"]["spec"]["template"]["spec"]
    assert gateway["containers"][0]["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert gateway["containers"][0]["livenessProbe"]["httpGet"]["path"] == "/healthz"

    learning = by_kind["Deployment"]["hy-hongyun-learning"]["spec"]
    (container,) = learning["template"]["spec"]["containers"]
    assert container["command"] == ["hongyun-learning", "serve"]
    assert learning["replicas"] == 2
    assert learning["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": 50052}, probe
        assert "httpGet" not in container[probe], probe
    assert container["ports"] == [{"name": "grpc", "containerPort": 50052, "protocol": "TCP"}]
    assert {"name": "HONGYUN_LEARNING_GRPC_PORT", "value": "50052"} in container["env"]
    assert container["resources"]["limits"]["memory"]
    service = by_kind["Service"]["hy-hongyun-learning"]["spec"]
    assert service["ports"] == [
        {
            "name": "grpc",
            "port": 50052,
            "targetPort": "grpc",
            "protocol": "TCP",
            "appProtocol": "grpc",
        }
    ]
    assert service["selector"]["app.kubernetes.io/component"] == "learning"
    assert "hy-hongyun-learning" in by_kind["PodDisruptionBudget"]

    config = by_kind["ConfigMap"]["hy-hongyun-config"]["data"]
    assert config["HONGYUN_MEMBER_GRPC_TARGET"] == "hy-hongyun-member:50051"
    assert config["HONGYUN_LEARNING_GRPC_TARGET"] == "hy-hongyun-learning:50052"

    job = by_kind["Job"]["hy-hongyun-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    job_pod = job["spec"]["template"]["spec"]
    assert [c["command"] for c in job_pod["initContainers"] + job_pod["containers"]] == [
        ["hongyun-member", "migrate"],
        ["hongyun-gateway", "migrate"],
        ["hongyun-learning", "migrate"],
        ["hongyun-member", "provision-streams"],
        ["hongyun-learning", "provision-streams"],
    ]

    for name in ("member", "learning"):
        policy = by_kind["NetworkPolicy"][f"hy-hongyun-{name}"]["spec"]
        assert policy["podSelector"]["matchLabels"]["app.kubernetes.io/component"] == name
        (rule,) = policy["ingress"]
        assert [
            p["podSelector"]["matchLabels"]["app.kubernetes.io/component"] for p in rule["from"]
        ] == ["gateway"], name
        port = values["services"][name]["port"]
        assert rule["ports"] == [{"port": port, "protocol": "TCP"}], name
    assert set(by_kind["NetworkPolicy"]) == {"hy-hongyun-member", "hy-hongyun-learning"}

    notes = next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))
    assert "hy-hongyun-learning:50052 (grpc, 2 replicas)" in notes


def _rendered_job(helm: Any, values: dict[str, Any] | None) -> dict[str, Any]:
    rendered = helm.Chart.load(str(CHART)).render(
        values, name="hy", namespace="party", is_upgrade=True
    )
    jobs = [
        doc
        for path, text in rendered.items()
        if not path.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc and doc["kind"] == "Job"
    ]
    (job,) = jobs
    return job


def _steps(job: dict[str, Any]) -> list[tuple[str, list[str]]]:
    pod = job["spec"]["template"]["spec"]
    return [(c["name"], c["command"]) for c in pod.get("initContainers", []) + pod["containers"]]


MIGRATION_STEPS = [
    ("member-migrate", ["hongyun-member", "migrate"]),
    ("gateway-migrate", ["hongyun-gateway", "migrate"]),
    ("learning-migrate", ["hongyun-learning", "migrate"]),
    ("member-provision-streams", ["hongyun-member", "provision-streams"]),
    ("learning-provision-streams", ["hongyun-learning", "provision-streams"]),
]


def test_rendered_hook_job_reindexes_search_only_when_asked(values):
    helm = pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed (no helm binary is needed with it)"
    )
    # Off (the default, and said explicitly): the Job is exactly the migration steps.
    for off in (None, {"migrations": {"reindexSearch": False}}):
        job = _rendered_job(helm, off)
        assert _steps(job) == MIGRATION_STEPS
        assert job["spec"]["template"]["spec"]["containers"][0]["name"] == (
            "learning-provision-streams"
        )

    # On: one more step, last (the Job's container; the migrations become init containers,
    # so it starts only after every schema is migrated), in the member image.
    job = _rendered_job(helm, {"migrations": {"reindexSearch": True}})
    assert _steps(job) == [
        *MIGRATION_STEPS,
        ("member-reindex-search", ["hongyun-member", "reindex-search"]),
    ]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    pod = job["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["initContainers"]] == [name for name, _ in MIGRATION_STEPS]
    (reindex,) = pod["containers"]
    migrate = pod["initContainers"][0]
    # Same image, Secrets and settings as the member's migrate step: it needs the runtime
    # database URL, HONGYUN_FIELD_KEYS and HONGYUN_BLIND_INDEX_KEY (from the Secret).
    assert reindex["image"] == migrate["image"]
    assert reindex["envFrom"] == migrate["envFrom"]
    assert reindex["env"] == migrate["env"]
    assert reindex["securityContext"]["readOnlyRootFilesystem"] is True
    assert reindex["securityContext"]["capabilities"]["drop"] == ["ALL"]

    # With a real installation's values (migration Secret, pinned image) as well.
    job = _rendered_job(helm, merged(ci_values(values), {"migrations": {"reindexSearch": True}}))
    assert _steps(job)[-1] == ("member-reindex-search", ["hongyun-member", "reindex-search"])
    assert _steps(job)[:-1] == [
        (s["name"], s["command"]) for s in ci_values(values)["migrations"]["steps"]
    ]
    assert {"secretRef": {"name": "hongyun-migrator"}} in job["spec"]["template"]["spec"][
        "containers"
    ][0]["envFrom"]


# --- the learning service, rendered --------------------------------------------------------------


def _rendered(helm: Any, values: dict[str, Any] | None) -> dict[str, dict[str, dict[str, Any]]]:
    """kind -> name -> manifest of an install of the chart with these values."""
    rendered = helm.Chart.load(str(CHART)).render(
        values, name="hy", namespace="party", is_install=True
    )
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for path, text in rendered.items():
        if path.endswith("NOTES.txt"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc:
                by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    return by_kind


def _pod_env(by_kind: dict[str, dict[str, dict[str, Any]]], service: str) -> dict[str, str]:
    """The non-secret environment of a service's container: the ConfigMap, then its own env."""
    pod = by_kind["Deployment"][f"hy-hongyun-{service}"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert {"configMapRef": {"name": "hy-hongyun-config"}} in container["envFrom"]
    env = dict(by_kind["ConfigMap"]["hy-hongyun-config"]["data"])
    env.update({e["name"]: e["value"] for e in container["env"]})
    return env


def _settings(settings_cls: type, env: dict[str, str], monkeypatch) -> Any:
    for key in list(os.environ):
        if key.startswith("HONGYUN_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return settings_cls()


def test_rendered_gateway_dials_the_port_the_learning_pods_serve_and_are_probed_on(
    values, monkeypatch
):
    """Read by the processes' own settings classes, so the variable names are the ones they use:
    the gateway's learning_grpc_target comes from HONGYUN_LEARNING_GRPC_TARGET in the ConfigMap,
    and the learning server listens on the port of the Service, the probes and the policy."""
    helm = pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed (no helm binary is needed with it)"
    )
    gateway_settings = pytest.importorskip("hongyun_gateway.settings")
    learning_config = pytest.importorskip("learning_service.config")
    member_config = pytest.importorskip("member_service.config")

    # A port other than the code's default proves the chart, not the default, sets it.
    moved = {"services": {"learning": {"port": 50062}}}
    for overrides, port in ((ci_values(values), 50052), (merged(ci_values(values), moved), 50062)):
        by_kind = _rendered(helm, overrides)
        gateway = _settings(
            gateway_settings.GatewaySettings, _pod_env(by_kind, "gateway"), monkeypatch
        )
        learning = _settings(
            learning_config.LearningSettings, _pod_env(by_kind, "learning"), monkeypatch
        )
        member = _settings(member_config.MemberSettings, _pod_env(by_kind, "member"), monkeypatch)
        assert gateway.learning_grpc_target == f"hy-hongyun-learning:{port}"
        assert gateway.member_grpc_target == "hy-hongyun-member:50051"
        assert learning.grpc_port == port
        assert member.grpc_port == 50051
        (container,) = by_kind["Deployment"]["hy-hongyun-learning"]["spec"]["template"]["spec"][
            "containers"
        ]
        assert container["readinessProbe"]["grpc"]["port"] == port
        assert container["livenessProbe"]["grpc"]["port"] == port
        assert by_kind["Service"]["hy-hongyun-learning"]["spec"]["ports"][0]["port"] == port
        policy = by_kind["NetworkPolicy"]["hy-hongyun-learning"]["spec"]
        assert policy["ingress"][0]["ports"] == [{"port": port, "protocol": "TCP"}]


def test_rendered_hook_job_migrates_learning_in_its_image_with_the_migration_secret(values):
    helm = pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed (no helm binary is needed with it)"
    )
    # The learning service in its own image: its steps must follow it, the member's must not.
    pinned = {"services": {"learning": {"image": {"tag": "0.2.0-learning"}}}}
    by_kind = _rendered(helm, merged(ci_values(values), pinned))
    pod = by_kind["Job"]["hy-hongyun-migrate"]["spec"]["template"]["spec"]
    steps = {c["name"]: c for c in pod.get("initContainers", []) + pod["containers"]}
    assert list(steps) == [name for name, _ in MIGRATION_STEPS]
    (serving,) = by_kind["Deployment"]["hy-hongyun-learning"]["spec"]["template"]["spec"][
        "containers"
    ]
    assert serving["image"] == "registry.example.org/hongyun/hongyun:0.2.0-learning"
    for name in ("learning-migrate", "learning-provision-streams"):
        step = steps[name]
        assert step["image"] == serving["image"], name
        # HONGYUN_LEARNING_MIGRATION_DATABASE_URL comes from the migration Secret, read after
        # (so winning over) the runtime Secret; running pods never see it.
        assert step["envFrom"] == [
            {"secretRef": {"name": "hongyun-env"}},
            {"secretRef": {"name": "hongyun-migrator"}},
        ], name
        env = {e["name"]: e["value"] for e in step["env"]}
        assert env["OTEL_SERVICE_NAME"] == "hongyun-learning-migrations"
        assert env["HONGYUN_NATS_URL"] == "nats://nats.messaging.svc:4222"  # provision-streams
        assert step["securityContext"]["readOnlyRootFilesystem"] is True
    assert steps["member-migrate"]["image"] == "registry.example.org/hongyun/hongyun:0.1.0"
    for deployment in by_kind["Deployment"].values():
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            refs = [ref.get("secretRef", {}).get("name") for ref in container["envFrom"]]
            assert "hongyun-migrator" not in refs, deployment["metadata"]["name"]
    # The last step is the Job's container: it starts after both migrations and the MEMBER stream.
    assert [c["name"] for c in pod["containers"]] == ["learning-provision-streams"]

    # NOTES tell the operator which owner URLs that Secret must hold, the learning one included.
    rendered = helm.Chart.load(str(CHART)).render(
        ci_values(values), name="hy", namespace="party", is_install=True
    )
    notes = next(text for path, text in rendered.items() if path.endswith("NOTES.txt"))
    owners = re.search(
        r"The schema owner's URLs \(([^)]*)\) come from Secret \"hongyun-migrator\"", notes
    )
    assert owners, notes
    assert "HONGYUN_LEARNING_MIGRATION_DATABASE_URL" in owners.group(1).split(", ")


def test_install_rejects_unknown_keys_under_the_learning_service():
    """values.schema.json is enforced by Helm itself, before any template renders."""
    helm = pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed (no helm binary is needed with it)"
    )
    for broken in (
        {"services": {"learning": {"replica": 3}}},
        {"services": {"learning": {"probes": {"readiness": {"grpcServce": "learning"}}}}},
        {"services": {"learning": {"resources": {"limits": {"mem": "1Gi"}}}}},
        {"services": {"learning": {"protocol": "tcp"}}},
    ):
        with pytest.raises(helm.HelmValuesError, match="/services/learning"):
            _rendered(helm, broken)
    _rendered(helm, {"services": {"learning": {"probes": {"readiness": {"grpcService": ""}}}}})


def test_a_chart_created_secret_gives_every_service_a_database_url():
    helm = pytest.importorskip(
        "helm_python", reason="helm-python-sdk is not installed (no helm binary is needed with it)"
    )
    keys = {
        "HONGYUN_FIELD_KEYS": "k1:oOQKXqFPBanFdzmz4QAmgWy5oK+w1bDRtWn7hbtGnNM=",
        "HONGYUN_BLIND_INDEX_KEY": "go178x62TnHWXdWrxC1UY3JmzZ0/8P+ko2Ks7odlB3k=",
        "HONGYUN_JWT_SECRET": "x" * 40,
    }
    url = "postgresql+asyncpg://hongyun_app:pw@db:5432/hongyun"

    def secret(**urls: str) -> dict[str, Any]:
        return {"secret": {"create": True, "stringData": {**keys, **urls}}}

    assert "hy-hongyun" in _rendered(helm, secret(HONGYUN_DATABASE_URL=url))["Secret"]
    # Per-service URLs only: the learning service's is needed as well as the others'.
    with pytest.raises(helm.HelmRenderError, match="HONGYUN_LEARNING_DATABASE_URL"):
        _rendered(helm, secret(HONGYUN_MEMBER_DATABASE_URL=url, HONGYUN_GATEWAY_DATABASE_URL=url))
    _rendered(
        helm,
        secret(
            HONGYUN_MEMBER_DATABASE_URL=url,
            HONGYUN_GATEWAY_DATABASE_URL=url,
            HONGYUN_LEARNING_DATABASE_URL=url,
        ),
    )
    # A disabled service needs none.
    _rendered(
        helm,
        merged(
            secret(HONGYUN_MEMBER_DATABASE_URL=url, HONGYUN_GATEWAY_DATABASE_URL=url),
            {"services": {"learning": {"enabled": False}}},
        ),
    )
