"""The `replicas` compose profile (SPEC §15, docs/adr/0023): HAProxy ends TLS in front of N
bot replicas in webhook mode.

haproxy accepts the proxy's configuration (`haproxy -c`, with a throwaway certificate where
the real one goes); the configuration sends Telegram's webhook, and nothing else, to the
bot's webhook port and checks each replica's /healthz; the proxy is the one service
published beyond 127.0.0.1, built from the bot's pinned base with the haproxy version CI
tests with; the bot runs BOT_REPLICAS replicas with their ports unpublished and the secret
from .env.
"""

from __future__ import annotations

import datetime
import re
import shutil
import subprocess
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from finance_bot.adapters.telegram.webhook import WEBHOOK_PATH
from tests.deploy.test_compose import (
    PUBLIC,
    REFERENCE,
    SERVICES,
    environment,
    mounts,
    published_ports,
)
from tests.deploy.tools import DEPLOY, ROOT, run_tool
from tests.support.haproxy import haproxy

PROXY = SERVICES["proxy"]
BOT = SERVICES["bot"]
CONFIG_FILE = DEPLOY / "proxy" / "haproxy.cfg"
CONFIG = CONFIG_FILE.read_text(encoding="utf-8")
DOCKERFILE = (DEPLOY / "proxy" / "Dockerfile").read_text(encoding="utf-8")
CONFIG_DIR = "/usr/local/etc/haproxy"
CERTIFICATE = f"{CONFIG_DIR}/certs/webhook.pem"


def directive(pattern: str) -> re.Match[str]:
    """The one line of the configuration matching pattern."""
    found = list(re.finditer(rf"^\s*{pattern}\s*$", CONFIG, re.MULTILINE))
    assert len(found) == 1, f"{pattern!r}: {len(found)} lines"
    return found[0]


def self_signed(path: Path) -> None:
    """A throwaway certificate and key in one PEM file, as HAProxy reads them."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bot.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(
        certificate.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    executable = haproxy()
    self_signed(tmp_path / "webhook.pem")
    assert CONFIG.count(CERTIFICATE) == 1
    config = tmp_path / "haproxy.cfg"
    config.write_text(CONFIG.replace(CERTIFICATE, str(tmp_path / "webhook.pem")), encoding="utf-8")
    done = subprocess.run(
        [executable, "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout + done.stderr


def test_haproxy_refuses_a_broken_configuration(tmp_path: Path) -> None:
    """The check above can fail: a configuration without its certificate is refused."""
    executable = haproxy()
    config = tmp_path / "haproxy.cfg"
    config.write_text(CONFIG.replace(CERTIFICATE, str(tmp_path / "absent.pem")), encoding="utf-8")
    done = subprocess.run(
        [executable, "-c", "-f", str(config)], capture_output=True, text=True, check=False
    )
    assert done.returncode != 0


def test_tls_ends_at_the_proxy_on_the_one_published_port() -> None:
    bind = directive(r"bind :(\d+) ssl crt (\S+) alpn http/1.1")
    assert bind[2] == CERTIFICATE
    (port,) = PROXY["ports"]
    assert port["target"] == int(bind[1])
    assert port["published"] == "${PROXY_PORT:-443}"
    assert "host_ip" not in port  # Telegram must reach it
    assert [host for host, _ in published_ports(PROXY)] == [None]
    assert {"proxy"} == PUBLIC


def test_only_the_webhook_goes_through_to_the_replicas() -> None:
    deny = directive(r"http-request deny deny_status 404 unless METH_POST \{ path (\S+) \}")
    assert deny[1] == WEBHOOK_PATH
    bot_env = environment(BOT)
    template = directive(r"server-template bot (\d+) bot:(\d+)")
    assert bot_env["WEBHOOK_PORT"] == "${WEBHOOK_PORT:-8080}"
    assert template[2] == "8080"
    assert int(template[1]) == 10  # BOT_REPLICAS up to ten, as .env.example says
    # Each replica's health is its own /healthz, on its metrics port.
    directive(r"option httpchk GET /healthz")
    checks = directive(r"default-server check port (\d+) .* resolvers docker init-addr none")
    assert checks[1] == bot_env["METRICS_PORT"] == "9464"
    directive(r"option redispatch 1")
    directive(r"retry-on conn-failure 503")


def test_the_bot_runs_as_replicas_unpublished_with_the_secret_from_env() -> None:
    assert BOT["deploy"]["replicas"] == "${BOT_REPLICAS:-1}"
    assert "ports" not in BOT
    bot_env = environment(BOT)
    assert bot_env["BOT_MODE"] == "${BOT_MODE:-polling}"
    assert REFERENCE.match(bot_env["WEBHOOK_SECRET"])
    assert bot_env["WEBHOOK_HOST"] == "0.0.0.0"  # on the compose network, for the proxy


def test_the_proxy_holds_no_secret_and_no_data() -> None:
    assert environment(PROXY) == {}  # TLS and routing only: each replica checks the secret
    assert all(m["type"] == "bind" and m["read_only"] for m in mounts(PROXY))
    assert PROXY["depends_on"] == {"bot": {"condition": "service_healthy"}}
    assert PROXY["cap_drop"] == ["ALL"]
    health = directive(r"bind :(\d+)")  # the proxy's own /healthz, for its health check
    assert f"http://127.0.0.1:{health[1]}/healthz" in " ".join(PROXY["healthcheck"]["test"])
    directive(r"monitor-uri /healthz")


def test_no_certificate_is_committed() -> None:
    ignore = (DEPLOY / "proxy" / "certs" / ".gitignore").read_text(encoding="utf-8")
    assert [line for line in ignore.splitlines() if not line.startswith("#")] == [
        "*",
        "!.gitignore",
    ]
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        return
    tracked = subprocess.run(
        [git, "ls-files", "deploy/proxy/certs"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout.split()
    assert tracked in ([], ["deploy/proxy/certs/.gitignore"])


def test_the_proxy_is_built_from_the_pinned_base_with_the_tested_haproxy() -> None:
    assert PROXY["build"] == {"context": "./deploy/proxy"}
    base = re.compile(r"^ARG PYTHON_IMAGE=(\S+)$", re.MULTILINE)
    bots = base.search((ROOT / "Dockerfile").read_text(encoding="utf-8"))
    proxies = base.search(DOCKERFILE)
    assert bots is not None
    assert proxies is not None
    assert proxies[1] == bots[1]  # the same python image, pinned by digest
    pinned = re.search(r"haproxy=(\S+)", DOCKERFILE)
    ci = re.search(r'"haproxy=([^"]+)"', (ROOT / ".ci" / "run").read_text(encoding="utf-8"))
    assert pinned is not None
    assert ci is not None
    assert pinned[1] == ci[1]  # the version the replica tests run in CI
    assert re.findall(r"^USER (\S+)$", DOCKERFILE, re.MULTILINE) == ["${UID}:${UID}"]


def test_proxy_dockerfile_passes_hadolint() -> None:
    result = run_tool("hadolint", "--failure-threshold", "warning", DEPLOY / "proxy" / "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
