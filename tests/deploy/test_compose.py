"""compose.yml follows the compose specification and the stack's rules (docs/product.md §7,
ADR-0013).

Loopback-only ports, data in named volumes only (read-only configuration from ./deploy is
the one kind of bind mount allowed), health checks and a restart policy on every
long-running service, the bot waiting for a healthy database and a finished migration, and
no secret written inline.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from finance_bot.config import Settings
from tests.deploy.tools import DEPLOY, ROOT, run_tool

COMPOSE_FILE = ROOT / "compose.yml"
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
ONE_SHOT = {"migrate"}
LONG_RUNNING = sorted(set(SERVICES) - ONE_SHOT)
DATA_VOLUMES = {
    "pgdata": ("postgres", "/var/lib/postgresql/data"),
    "prometheus-data": ("prometheus", "/prometheus"),
    "grafana-data": ("grafana", "/var/lib/grafana"),
    "backups": ("backup", "/var/lib/finance-bot/backups"),
    "books": ("backup", "/var/lib/finance-bot/books"),
}
# Services started only when their profile is asked for (`--profile NAME`).
OPTIONAL = {"fava": "fava", "proxy": "replicas"}
# Published beyond 127.0.0.1: the proxy Telegram's webhook reaches (tests/deploy/test_proxy.py).
PUBLIC = {"proxy"}
SECRET_NAME = re.compile(r"PASSWORD|PASSPHRASE|TOKEN|SECRET|KEY", re.IGNORECASE)
# A whole value that is one ${VAR}, ${VAR:?message}, ${VAR?message} or ${VAR:-} (empty default).
REFERENCE = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*(?:(?::?\?[^}]*)|:?-)?\}$")
URL_CREDENTIALS = re.compile(r"://(?:\$\{[^}]*\}|[^/@\s:]*):(?P<password>\$\{[^}]*\}|[^@\s]*)@")
VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)")


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def published_ports(service: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(host address or None for every interface, the port spec) of each published port."""
    found: list[tuple[str | None, str]] = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            found.append((port.get("host_ip"), str(port)))
            continue
        spec = str(port).split("/", 1)[0]
        if spec.startswith("["):
            found.append((spec[1 : spec.index("]")], str(port)))
            continue
        parts = spec.split(":")
        found.append((parts[0] if len(parts) == 3 else None, str(port)))
    return found


def mounts(service: dict[str, Any]) -> list[dict[str, Any]]:
    """Every volume entry of a service in the long form."""
    result = []
    for entry in service.get("volumes", []):
        if isinstance(entry, dict):
            result.append(entry)
            continue
        source, _, rest = str(entry).partition(":")
        target, _, mode = rest.partition(":")
        is_path = source.startswith((".", "/", "~"))
        result.append(
            {
                "type": "bind" if is_path else "volume",
                "source": source,
                "target": target,
                "read_only": "ro" in mode.split(","),
            }
        )
    return result


def walk_strings(node: object, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [item for k, v in node.items() for item in walk_strings(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [item for i, v in enumerate(node) for item in walk_strings(v, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) else []


def test_the_file_matches_the_compose_specification() -> None:
    result = run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_no_obsolete_version_key_and_the_services_of_the_spec() -> None:
    assert "version" not in COMPOSE
    assert set(SERVICES) == {
        "postgres", "migrate", "bot", "backup", "prometheus", "grafana", "fava", "proxy"
    }  # fmt: skip
    assert SERVICES["postgres"]["image"].startswith("postgres:16.")


@pytest.mark.parametrize("name", sorted(set(SERVICES) - PUBLIC))
def test_every_published_port_binds_to_loopback(name: str) -> None:
    for host, spec in published_ports(SERVICES[name]):
        assert host == "127.0.0.1", f"{name} publishes {spec} beyond 127.0.0.1"


def test_the_bots_metrics_are_not_published() -> None:
    assert "ports" not in SERVICES["bot"]
    env = environment(SERVICES["bot"])
    assert env["METRICS_HOST"] == "0.0.0.0"  # inside its container, for Prometheus
    assert env["METRICS_PORT"] == "9464"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_data_lives_in_named_volumes_and_binds_are_read_only_config(name: str) -> None:
    declared = COMPOSE.get("volumes") or {}
    for mount in mounts(SERVICES[name]):
        kind, source = mount.get("type"), str(mount.get("source", ""))
        if kind == "volume":
            assert source in declared, f"{name}: volume {source!r} is anonymous or undeclared"
        elif kind == "bind":
            resolved = (ROOT / source).resolve()
            assert resolved.is_relative_to(DEPLOY), f"{name}: bind mount of {source} (data?)"
            assert resolved.exists(), f"{name}: {source} does not exist"
            assert mount.get("read_only") is True, f"{name}: {source} is not mounted read-only"
        else:
            assert kind == "tmpfs", f"{name}: unexpected mount {mount}"


def test_the_declared_volumes_are_the_named_data_volumes() -> None:
    declared = COMPOSE.get("volumes") or {}
    assert set(declared) == set(DATA_VOLUMES)
    for name, spec in declared.items():
        # Plain local volumes: no bind mount disguised by driver options, nothing external.
        assert not spec, f"volume {name} has options {spec}"
    for volume, (service, target) in DATA_VOLUMES.items():
        targets = {m["target"] for m in mounts(SERVICES[service]) if m.get("source") == volume}
        assert targets == {target}, f"{volume} should be mounted on {service} at {target}"


@pytest.mark.parametrize("name", LONG_RUNNING)
def test_long_running_services_have_a_health_check_and_restart(name: str) -> None:
    service = SERVICES[name]
    check = service.get("healthcheck") or {}
    assert check.get("test"), f"{name} has no health check"
    assert not check.get("disable"), f"{name} has its health check disabled"
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    assert service.get("restart") == "unless-stopped"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_logs_rotate(name: str) -> None:
    logging = SERVICES[name]["logging"]
    assert logging["driver"] == "json-file"
    assert logging["options"]["max-size"]
    assert logging["options"]["max-file"]


def test_the_migration_runs_once_and_the_bot_waits_for_it_and_the_database() -> None:
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["command"] == ["migrate"]
    assert SERVICES["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    for name in ("bot", "backup"):
        assert SERVICES[name]["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "migrate": {"condition": "service_completed_successfully"},
        }


def test_bot_migrate_and_backup_share_the_locally_built_image() -> None:
    images = {SERVICES[n]["image"] for n in ("bot", "migrate", "backup")}
    assert len(images) == 1
    assert all(SERVICES[n]["build"] == {"context": "."} for n in ("bot", "migrate", "backup"))


def test_third_party_images_are_pinned_to_a_version_and_a_digest() -> None:
    for name, service in SERVICES.items():
        if "build" in service:
            continue
        # The tag says which release it is; the digest is what is pulled, so a re-pushed
        # tag cannot change the image under a running deployment.
        reference, _, digest = service["image"].partition("@")
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", digest), f"{name}: not pinned by digest"
        tag = reference.rsplit(":", 1)[1] if ":" in reference.rsplit("/", 1)[-1] else ""
        # A release, not a moving major tag: x.y.z, or x.y for PostgreSQL (16.9).
        assert re.match(r"^v?\d+\.\d+(\.\d+)?(-[a-z0-9.]+)?$", tag), f"{name}: {reference} moves"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_no_secret_is_written_inline(name: str) -> None:
    for key, value in environment(SERVICES[name]).items():
        if SECRET_NAME.search(key):
            assert REFERENCE.match(value), f"{name}: {key} must be a ${{VAR}} reference"
    for path, text in walk_strings(SERVICES[name]):
        for match in URL_CREDENTIALS.finditer(text):
            assert REFERENCE.match(match["password"]), f"{name}{path}: password inline in URL"


def test_no_env_file_but_dot_env_interpolation() -> None:
    # Each service gets only the variables it names; `.env` is read by compose itself.
    assert all("env_file" not in service for service in SERVICES.values())


def test_backup_runs_the_nightly_loop_baked_into_the_image() -> None:
    backup = SERVICES["backup"]
    script = "/usr/local/lib/finance-bot/nightly_backup.py"
    assert backup["entrypoint"] == ["python", script]
    assert script in backup["healthcheck"]["test"]
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert f"COPY deploy/backup/nightly_backup.py {script}" in dockerfile


def test_only_the_optional_services_have_a_profile() -> None:
    for name, service in SERVICES.items():
        assert service.get("profiles", []) == ([OPTIONAL[name]] if name in OPTIONAL else [])


def test_fava_serves_the_nightly_books_read_only_on_loopback() -> None:
    fava = SERVICES["fava"]
    assert [host for host, _ in published_ports(fava)] == ["127.0.0.1"]
    assert mounts(fava) == [
        {"type": "volume", "source": "books", "target": "/books", "read_only": True}
    ]
    # The backup service writes the file there; Fava is told to change nothing either.
    books = environment(SERVICES["backup"])["BOOKS_EXPORT_FILE"]
    assert books.endswith("/var/lib/finance-bot/books/books.beancount}")
    start = (DEPLOY / "fava" / "start.sh").read_text(encoding="utf-8")
    assert 'exec fava --read-only --host 0.0.0.0 --port 5000 "${books}"' in start
    assert "/books/books.beancount" in start
    assert fava["cap_drop"] == ["ALL"]
    assert "DATABASE_URL" not in environment(fava)  # it reads the file, never the database


FAVA_DOCKERFILE = (DEPLOY / "fava" / "Dockerfile").read_text(encoding="utf-8")


def test_fava_is_built_from_the_pinned_base_and_its_hashed_lock() -> None:
    assert SERVICES["fava"]["build"] == {"context": "./deploy/fava"}
    base = re.compile(r"^ARG PYTHON_IMAGE=(\S+)$", re.MULTILINE)
    bots = base.search((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    favas = base.search(FAVA_DOCKERFILE)
    assert bots is not None
    assert favas is not None
    assert favas[1] == bots[1]  # the same python image, pinned by digest
    assert "pip install --no-cache-dir --require-hashes --only-binary=:all:" in FAVA_DOCKERFILE
    users = re.findall(r"^USER (\S+)$", FAVA_DOCKERFILE, re.MULTILINE)
    assert users == ["${UID}:${UID}"]


def test_fava_dockerfile_passes_hadolint() -> None:
    result = run_tool("hadolint", "--failure-threshold", "warning", DEPLOY / "fava" / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr


def env_example_names() -> dict[str, str]:
    names = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#?\s?([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if match:
            names[match[1]] = match[2]
    return names


def test_env_example_documents_every_variable() -> None:
    documented = env_example_names()
    used_in_compose = {name for _, text in walk_strings(COMPOSE) for name in VARIABLE.findall(text)}
    spec_section_6 = {
        "TELEGRAM_BOT_TOKEN",
        "TELEGRAM_API_BASE",
        "WHITELIST_TELEGRAM_IDS",
        "DATABASE_URL",
        "DATA_DIR",
        "BOT_TIMEZONE",
        "DEFAULT_CURRENCY",
        "BOT_LANGUAGE",
        "LOG_LEVEL",
        "METRICS_HOST",
        "METRICS_PORT",
    }
    backups = {
        "BACKUP_DIR",
        "BACKUP_KEEP_DAYS",
        "BACKUP_PASSPHRASE",
        "BACKUP_S3_ENDPOINT",
        "BACKUP_S3_BUCKET",
        "BACKUP_S3_ACCESS_KEY_ID",
        "BACKUP_S3_SECRET_ACCESS_KEY",
        "BACKUP_S3_REGION",
        "BACKUP_S3_PREFIX",
    }
    settings = {name.upper() for name in Settings.model_fields}
    missing = (used_in_compose | spec_section_6 | backups | settings) - set(documented)
    assert not missing, f".env.example does not document {sorted(missing)}"


def test_every_setting_env_example_offers_reaches_a_finance_bot_service() -> None:
    """.env stays out of the image (.dockerignore): a setting compose does not pass on is
    silently the default in the container, whatever .env says. SIGNUP was one."""
    settings = {name.upper() for name in Settings.model_fields}
    # For a run outside compose: in it each service logs in by a DATABASE_URL of its own
    # role, and the image keeps its data where its volumes are.
    outside_compose = {
        "DATABASE_OWNER_URL",
        "DATABASE_BACKUP_URL",
        "DATABASE_ADMIN_URL",
        "DATA_DIR",
    }
    offered = set(env_example_names()) & settings - outside_compose
    passed = {
        name
        for service in ("bot", "migrate", "backup")
        for name in SERVICES[service].get("environment", {})
    }
    assert not offered - passed, f"compose.yml passes on no {sorted(offered - passed)}"


def test_env_example_holds_no_secret_and_dot_env_is_ignored_by_git() -> None:
    for name, value in env_example_names().items():
        if SECRET_NAME.search(name):
            assert value == "", f".env.example gives {name} a value"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored


def test_read_only_config_sources_are_in_the_repository() -> None:
    sources = {
        Path(m["source"])
        for service in SERVICES.values()
        for m in mounts(service)
        if m.get("type") == "bind"
    }
    assert sources == {
        Path("deploy/postgres/initdb"),
        Path("deploy/prometheus/prometheus.yml"),
        Path("deploy/prometheus/rules"),
        Path("deploy/grafana/provisioning"),
        Path("deploy/grafana/dashboards"),
        Path("deploy/proxy/haproxy.cfg"),
        Path("deploy/proxy/certs"),
    }


# --- the rules' own parsing, on examples that must be caught ---------------------------


@pytest.mark.parametrize(
    ("port", "host"),
    [
        ("3000", None),
        ("3000:3000", None),
        ("0.0.0.0:3000:3000", "0.0.0.0"),
        ("127.0.0.1:3000:3000/tcp", "127.0.0.1"),
        ("[::1]:3000:3000", "::1"),
        ({"target": 3000, "published": "3000"}, None),
        ({"target": 3000, "published": "3000", "host_ip": "127.0.0.1"}, "127.0.0.1"),
    ],
)
def test_published_port_hosts_are_read_in_both_syntaxes(port: object, host: str | None) -> None:
    assert published_ports({"ports": [port]})[0][0] == host


def test_mounts_are_read_in_both_syntaxes() -> None:
    found = mounts({"volumes": ["pgdata:/data", "./deploy/x:/etc/x:ro", "/srv/data:/data"]})
    assert [(m["type"], m["read_only"]) for m in found] == [
        ("volume", False),
        ("bind", True),
        ("bind", False),
    ]


@pytest.mark.parametrize(
    ("value", "allowed"),
    [
        ("${POSTGRES_PASSWORD}", True),
        ("${POSTGRES_PASSWORD:?set it in .env}", True),
        ("${BACKUP_PASSPHRASE:-}", True),
        ("${POSTGRES_PASSWORD:-changeme}", False),
        ("hunter2", False),
        ("prefix-${TOKEN}", False),
    ],
)
def test_secret_values_must_be_bare_references(value: str, allowed: bool) -> None:
    assert bool(REFERENCE.match(value)) is allowed


def test_passwords_inside_urls_are_found() -> None:
    inline = URL_CREDENTIALS.search("postgresql://bot:hunter2@postgres:5432/db")
    referenced = URL_CREDENTIALS.search("postgresql://${U}:${P:?needed here}@postgres/db")
    assert inline is not None
    assert inline["password"] == "hunter2"
    assert referenced is not None
    assert REFERENCE.match(referenced["password"])


# --- database roles (docs/adr/0009) ------------------------------------------------------------

SUPERUSER_SECRET = "POSTGRES_PASSWORD"
ROLE_OF_SERVICE = {
    "migrate": "finance_bot_owner",
    "bot": "finance_bot_app",
    "backup": "finance_bot_dump",
}


def database_url_user(service: str) -> str:
    url = environment(SERVICES[service])["DATABASE_URL"]
    match = re.match(r"^postgresql://([^:@]+):\$\{([A-Z_]+)[^}]*\}@postgres:5432/", url)
    assert match, f"{service}: DATABASE_URL is not a login with a password reference"
    return match[1]


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_only_postgres_itself_gets_the_superusers_password(name: str) -> None:
    texts = [text for _, text in walk_strings(SERVICES[name])]
    mentions = [text for text in texts if SUPERUSER_SECRET in text]
    if name == "postgres":
        assert environment(SERVICES[name])["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD")
    else:
        assert mentions == [], f"{name} gets the superuser's password"
        assert "POSTGRES_USER" not in " ".join(texts), f"{name} names the superuser"


@pytest.mark.parametrize("service", sorted(ROLE_OF_SERVICE))
def test_each_finance_bot_service_logs_in_as_its_own_role(service: str) -> None:
    role = ROLE_OF_SERVICE[service]
    assert database_url_user(service) == role
    url = environment(SERVICES[service])["DATABASE_URL"]
    secret = f"FINANCE_BOT_{role.removeprefix('finance_bot_').upper()}_PASSWORD"
    assert f"${{{secret}:?" in url
    others = set(ROLE_OF_SERVICE.values()) - {role}
    everything = " ".join(text for _, text in walk_strings(SERVICES[service]))
    assert not any(other in everything for other in others), f"{service} names another role"


def test_the_role_passwords_reach_postgres_for_its_init_script() -> None:
    env = environment(SERVICES["postgres"])
    for secret in ("OWNER", "APP", "DUMP"):
        name = f"FINANCE_BOT_{secret}_PASSWORD"
        assert env[name] == f"${{{name}:?set {name} in .env}}"
    script = (DEPLOY / "postgres" / "initdb" / "05-finance-bot-roles.sh").read_text("utf-8")
    for secret in ("OWNER", "APP", "DUMP"):
        assert f"\\getenv {secret.lower()}_password FINANCE_BOT_{secret}_PASSWORD" in script


def test_grafana_sends_the_readers_limits_as_connection_options() -> None:
    options = environment(SERVICES["grafana"])["PGOPTIONS"].split()
    assert options == [
        "-c",
        "statement_timeout=30s",
        "-c",
        "default_transaction_read_only=on",
    ]


def test_deploy_makes_the_roles_before_anything_logs_in_and_restore_runs_as_the_owner() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    deploy = makefile[makefile.index("\ndeploy:") : makefile.index("\nbackup:")]
    lines = [line.strip() for line in deploy.splitlines()]
    roles = next(i for i, line in enumerate(lines) if "05-finance-bot-roles.sh" in line)
    postgres_up = next(i for i, line in enumerate(lines) if "up -d --wait postgres" in line)
    all_up = next(i for i, line in enumerate(lines) if "up -d --remove-orphans" in line)
    assert postgres_up < roles < all_up
    restore = makefile[makefile.index("\nrestore:") : makefile.index("\nlogs:")]
    assert "migrate restore" in restore
    assert restore.index("05-finance-bot-roles.sh") < restore.index("migrate restore")
