#!/usr/bin/env bash
# Dashboard benchmark: wrk against a release `veil api` serving `/dashboard/` (the first page of
# aliases, rendered from the templates) for a signed-in user with N aliases and M email logs.
# Reports requests/s and latency percentiles, and `GET /health` as the HTTP stack's floor.
#
#   Benchmarks/web/run.sh [ALIASES] [LOGS]      (defaults: 10000 200000)
#
# Needs: wrk and sqlite3 (Debian packages), a release build (`swift build -c release --product veil
# --scratch-path .build-release`). Rate limits are off (--no-rate-limits): we measure the server.
set -euo pipefail
cd "$(dirname "$0")/../.."
ALIASES=${1:-10000}
LOGS=${2:-200000}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-15s}
PORT=${PORT:-18081}
VEIL=${VEIL:-.build-release/release/veil}
WORK=$(mktemp -d)
DB=$WORK/veil.sqlite
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"; sync' EXIT

"$VEIL" user create --email bench@example.com --premium --database "$DB" >/dev/null
# A session as a login creates it: the database keeps only the token's SHA-256.
TOKEN=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)
TOKEN_HASH=$(printf %s "$TOKEN" | sha256sum | cut -d' ' -f1)
NOW=$(date +%s)
sqlite3 "$DB" <<SQL
PRAGMA foreign_keys = ON;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ALIASES)
INSERT INTO aliases (user_id, email, mailbox_id, note, created_at, last_activity_at)
SELECT 1, 'seed' || i || '@veil.localhost', 1, CASE WHEN i % 3 = 0 THEN 'note of ' || i END, 1700000000 + i, 1700000000 + i FROM n;
INSERT INTO contacts (user_id, alias_id, website_email, reply_email, created_at)
SELECT 1, id, 'sender' || id || '@example.com', 'rev' || id || 'xxxxxxxxxxxxxxxxxxxx@veil.localhost', 1700000000 FROM aliases;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $LOGS)
INSERT INTO email_logs (user_id, alias_id, contact_id, mailbox_id, is_reply, blocked, created_at)
SELECT 1, (i % $ALIASES) + 1, (i % $ALIASES) + 1, 1, (i % 7 = 0), (i % 11 = 0), 1700000000 + i FROM n;
INSERT INTO web_sessions (token_hash, user_id, csrf_token, user_agent, created_at, last_seen, expires_at)
VALUES ('$TOKEN_HASH', 1, 'benchcsrfbenchcsrfbenchcsrfbench', 'wrk', $NOW, $NOW, $NOW + 86400);
COMMIT;
SQL

sync
"$VEIL" api --database "$DB" --port "$PORT" --no-rate-limits > "$WORK/api.log" 2>&1 &
SERVER=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break; sleep 0.1; done
# A check that the cookie signs in: the page lists the newest alias.
curl -fs -H "Cookie: veil_session=$TOKEN" "http://127.0.0.1:$PORT/dashboard/" | grep -q "seed$ALIASES@veil.localhost" \
    || { echo "the session did not sign in" >&2; exit 1; }

echo "== $ALIASES aliases, $LOGS email logs, $CONNECTIONS connections, $DURATION, $(nproc) cores =="
for path in "/dashboard/" "/dashboard/?query=seed99" "/dashboard/aliases/$ALIASES"; do
    echo "-- GET $path"
    wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: veil_session=$TOKEN" "http://127.0.0.1:$PORT$path" \
        | grep -E "Requests/sec|50%|99%|Non-2xx"
    sync
done
echo "-- GET /health (no database, same middleware: the HTTP stack's floor)"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT/health" | grep -E "Requests/sec|50%|99%|Non-2xx"
