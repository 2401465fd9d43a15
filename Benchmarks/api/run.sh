#!/usr/bin/env bash
# API benchmark: wrk against a release `veil api` over a database seeded with N aliases and
# M email logs for one user. Reports requests/s and latency percentiles, and the same for
# `GET /health` as the floor of the HTTP stack on this machine.
#
#   Benchmarks/api/run.sh [ALIASES] [LOGS]      (defaults: 10000 200000)
#
# Needs: wrk and sqlite3 (Debian packages), a release build (`swift build -c release --product veil
# --scratch-path .build-release`). Rate limits are off (--no-rate-limits): we measure the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
ALIASES=${1:-10000}
LOGS=${2:-200000}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-15s}
PORT=${PORT:-18080}
VEIL=${VEIL:-.build-release/release/veil}
WORK=$(mktemp -d)
DB=$WORK/veil.sqlite
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"; sync' EXIT

KEY=$("$VEIL" user create --email bench@example.com --premium --database "$DB")
# Seed in one SQL transaction: aliases on the user's default mailbox, contacts, and email logs
# spread over the aliases (the triggers keep the per-alias counters).
sqlite3 "$DB" <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ALIASES)
INSERT INTO aliases (user_id, email, mailbox_id, created_at, last_activity_at)
SELECT 1, 'seed' || i || '@veil.localhost', 1, 1700000000 + i, 1700000000 + i FROM n;
INSERT INTO contacts (user_id, alias_id, website_email, reply_email, created_at)
SELECT 1, id, 'sender' || id || '@example.com', 'rev' || id || 'xxxxxxxxxxxxxxxxxxxx@veil.localhost', 1700000000 FROM aliases;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $LOGS)
INSERT INTO email_logs (user_id, alias_id, contact_id, mailbox_id, is_reply, blocked, created_at)
SELECT 1, (i % $ALIASES) + 1, (i % $ALIASES) + 1, 1, (i % 7 = 0), (i % 11 = 0), 1700000000 + i FROM n;
COMMIT;
SQL

# The seed (and an earlier run's writes) must reach the disk before measuring: the kernel's
# writeback of them otherwise lands in the middle of a run and takes CPU from it.
sync
"$VEIL" api --database "$DB" --port "$PORT" --no-rate-limits > "$WORK/api.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done

cat > "$WORK/post.lua" <<'LUA'
wrk.method = "POST"
LUA

echo "== $ALIASES aliases, $LOGS email logs, $CONNECTIONS connections, $DURATION, $(nproc) cores =="
echo "-- GET /api/v2/aliases?page_id=0"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authentication: $KEY" "http://127.0.0.1:$PORT/api/v2/aliases?page_id=0" \
    | grep -E "Requests/sec|50%|99%|Non-2xx"
sync
echo "-- POST /api/alias/random/new"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Authentication: $KEY" -s "$WORK/post.lua" "http://127.0.0.1:$PORT/api/alias/random/new" \
    | grep -E "Requests/sec|50%|99%|Non-2xx"
sync
echo "-- GET /health (no database, same middleware: the HTTP stack's floor)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/health" | grep -E "Requests/sec|50%|99%|Non-2xx"
