#!/usr/bin/env bash
# Wait until the compose stack is up: every long-running service running and healthy, every
# one-shot service (the migration) exited with status 0. Used by `make deploy` after
# `docker compose up -d`; it does not rely on `up --wait`, whose handling of one-shot
# services differs between Compose versions.
#
#     deploy/wait-healthy.sh [TIMEOUT_SECONDS]     (default 300)
#
# Exits 0 when everything is up; 1 at once if a one-shot service failed; 1 when the timeout
# passes, naming what is still not ready. COMPOSE overrides the command (default
# "docker compose"); ONE_SHOT lists the services expected to exit (default "migrate").
set -euo pipefail

timeout="${1:-300}"
read -r -a compose <<<"${COMPOSE:-docker compose}"
read -r -a one_shot <<<"${ONE_SHOT:-migrate}"
deadline=$((SECONDS + timeout))

while true; do
    waiting=()
    failed=()
    seen=0
    while IFS='|' read -r service state health exit_code; do
        [[ -n "${service}" ]] || continue
        seen=$((seen + 1))
        case "${state}" in
            running)
                if [[ -n "${health}" && "${health}" != "healthy" ]]; then
                    waiting+=("${service}: ${health}")
                fi
                ;;
            exited)
                if [[ " ${one_shot[*]} " != *" ${service} "* ]]; then
                    failed+=("${service}: exited with status ${exit_code} but should keep running")
                elif [[ "${exit_code}" != "0" ]]; then
                    failed+=("${service}: exited with status ${exit_code}")
                fi
                ;;
            *)
                waiting+=("${service}: ${state}")
                ;;
        esac
    done < <("${compose[@]}" ps --all --format '{{.Service}}|{{.State}}|{{.Health}}|{{.ExitCode}}')

    if ((${#failed[@]} > 0)); then
        printf 'failed: %s\n' "${failed[@]}" >&2
        echo "see: ${compose[*]} logs <service>" >&2
        exit 1
    fi
    if ((seen > 0 && ${#waiting[@]} == 0)); then
        echo "all services are up"
        exit 0
    fi
    if ((SECONDS >= deadline)); then
        echo "not ready after ${timeout} s:" >&2
        if ((seen == 0)); then
            echo "  no containers (did 'docker compose up -d' run?)" >&2
        else
            printf '  %s\n' "${waiting[@]}" >&2
        fi
        exit 1
    fi
    sleep 3
done
