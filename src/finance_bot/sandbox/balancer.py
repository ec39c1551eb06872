"""HAProxy in front of bot replicas on 127.0.0.1, for the replica tests and the chat benchmark.

HAProxy is the distribution's package (`apt-get install haproxy`, pinned in CI), run as a
child process in the foreground (`haproxy -db -f CONFIG`) with a configuration written here:
one HTTP frontend on a port of its own, each replica a server whose webhook port takes the
updates and whose metrics port answers the health check on /healthz (docs/adr/0023).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# Debian installs it in /usr/sbin, which a non-root PATH may lack.
HAPROXY_PLACES = ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy")


def find_haproxy() -> str | None:
    """The haproxy executable, or None when it is not installed."""
    found = shutil.which("haproxy")
    if found is not None:
        return found
    return next((place for place in HAPROXY_PLACES if Path(place).exists()), None)


def free_port() -> int:
    """A port nobody listens on now, for a process that must be told its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Replica:
    """Where one replica takes updates, and where it answers /healthz."""

    webhook_port: int
    health_port: int


def haproxy_config(
    port: int, replicas: Sequence[Replica], *, check_interval_ms: int = 250, maxconn: int = 512
) -> str:
    """The configuration: an HTTP frontend on 127.0.0.1:port, the replicas behind it.

    - A replica is taken out after two failed checks of /healthz and put back after two good
      ones; a refused or dropped connection also counts against it at once (observe layer4),
      so a replica killed mid-stream stops getting updates within a check or two.
    - A request whose connection failed, that got no answer at all, or a 503 (a replica
      shutting down, or a transient failure) is tried again, on another replica
      (`option redispatch 1`): safe for a webhook POST, whose update id makes it exactly once.
      Whatever still fails goes back to Telegram as a 5xx, and Telegram delivers it again.
    - `timeout server` is the bot's own shutdown grace: an update's work may take that long.
    """
    checks = (
        f"inter {check_interval_ms}ms fastinter {check_interval_ms // 2}ms fall 2 rise 2"
        " observe layer4 error-limit 1 on-error mark-down"
    )
    servers = "\n".join(
        f"    server replica{number} 127.0.0.1:{replica.webhook_port}"
        f" check port {replica.health_port}"
        for number, replica in enumerate(replicas, 1)
    )
    return f"""\
global
    maxconn {maxconn * 4}
    # no user/chroot/daemon: a child process of the test, in the foreground (-db)

defaults
    mode http
    option http-keep-alive
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    timeout http-request 10s
    timeout http-keep-alive 30s
    timeout check 1s
    retries 2
    option redispatch 1
    retry-on conn-failure 503

frontend telegram
    bind 127.0.0.1:{port}
    maxconn {maxconn}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
    default-server {checks}
{servers}
"""


class Balancer:
    """haproxy as a child process, in front of the given replicas."""

    def __init__(
        self,
        replicas: Sequence[Replica],
        work_dir: Path,
        *,
        executable: str | None = None,
        port: int | None = None,
        check_interval_ms: int = 250,
    ) -> None:
        found = executable or find_haproxy()
        if found is None:
            raise FileNotFoundError("haproxy is not installed (apt-get install haproxy)")
        self.executable = found
        self.replicas = list(replicas)
        self.port = port if port is not None else free_port()
        self.work_dir = work_dir
        self.config_path = work_dir / "haproxy.cfg"
        self.log_path = work_dir / "haproxy.log"
        self._check_interval_ms = check_interval_ms
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def write_config(self) -> Path:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        text = haproxy_config(self.port, self.replicas, check_interval_ms=self._check_interval_ms)
        self.config_path.write_text(text, encoding="utf-8")
        return self.config_path

    def check_config(self) -> None:
        """`haproxy -c`: RuntimeError with haproxy's words if the configuration is refused."""
        done = subprocess.run(
            [self.executable, "-c", "-f", str(self.write_config())],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        if done.returncode != 0:
            raise RuntimeError(f"haproxy refused its configuration:\n{done.stdout}{done.stderr}")

    def start(self, *, timeout: float = 10.0) -> None:
        """Start haproxy and wait until its frontend accepts connections (blocking, briefly)."""
        assert not self.running(), "haproxy is already running"
        self.check_config()
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [self.executable, "-db", "-f", str(self.config_path)],
                cwd=self.work_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"haproxy exited with {self._process.returncode}:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"haproxy not listening after {timeout}s") from None
                time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (haproxy's hard stop), SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def log(self) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")
