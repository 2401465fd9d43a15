#!/usr/bin/env bash
# Property-based run of schemathesis (PyPI) against a live `veil api` and the OpenAPI document it
# serves: no 5xx, every status and every body as documented. Usage:
#   Tests/schemathesis/run.sh [veil-binary] [extra schemathesis options...]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VEIL="${1:-$ROOT/.build/debug/veil}"; shift || true
WORK="$(mktemp -d /tmp/veil-schemathesis.XXXXXX)"
PORT=${PORT:-25180}
API_PID=""
cleanup() { [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

VENV="${SCHEMATHESIS_VENV:-/tmp/veil-schemathesis-venv}"
[ -x "$VENV/bin/schemathesis" ] || { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q schemathesis; }

export VEIL_DATABASE="$WORK/veil.sqlite" VEIL_ALIAS_DOMAINS=veil.test VEIL_LOG_LEVEL=warning
"$VEIL" migrate >/dev/null
KEY="$("$VEIL" user create --email fuzz@example.com --password 'correct horse battery' --premium)"
# The relay is a closed port: the mail the API sends waits in the outbound queue.
"$VEIL" api --port "$PORT" --relay 127.0.0.1:9 --no-rate-limits 2>"$WORK/api.log" &
API_PID=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done

# Deleting the account or its keys would leave the rest of the run unauthenticated.
"$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api/openapi.yaml" \
    --checks not_a_server_error,status_code_conformance,response_schema_conformance \
    --header "Authentication: $KEY" \
    --exclude-operation-id deleteUser --exclude-operation-id logout \
    --phases examples,coverage,fuzzing --max-examples "${MAX_EXAMPLES:-50}" --workers 1 --seed "${SEED:-1}" \
    "$@"
