#!/usr/bin/env bash
# Mail-daemon throughput: Postfix's smtp-source -> veil smtpd -> smtp-sink (as the relay), next to
# smtp-source -> smtp-sink directly (the machine's ceiling). Messages go to aliases 1a..Na@veil.bench
# (smtp-source -N numbers each recipient), so 10,000 messages touch 10,000 different aliases.
#
# Needs: a release build (swift build -c release --product veil --scratch-path .build-release),
# postfix (smtp-source, smtp-sink) and sqlite3 from Debian.
# Usage: Benchmarks/smtp/run.sh [aliases=10000] [messages=10000]
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VEIL="${VEIL:-$ROOT/.build-release/release/veil}"
MESSAGES="${2:-10000}"
# smtp-source -N needs aliases 1a..<MESSAGES>a; more aliases only make the table bigger.
ALIASES="${1:-10000}"
[ "$ALIASES" -ge "$MESSAGES" ] || ALIASES="$MESSAGES"
WORK="$(mktemp -d /tmp/veil-bench.XXXXXX)"
SINK_PORT=26025
VEIL_PORT=26381
DB="$WORK/veil.sqlite"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

export VEIL_DATABASE="$DB" VEIL_ALIAS_DOMAINS=veil.bench
"$VEIL" user create --email owner@mailbox.bench --premium >/dev/null
# Aliases 1a..Na@veil.bench on the owner's mailbox, plus contacts and logs are created by the run.
sqlite3 "$DB" <<SQL
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ALIASES)
INSERT INTO aliases (user_id, email, mailbox_id, created_at)
SELECT 1, i || 'a@veil.bench', 1, strftime('%s', 'now') FROM n;
SQL

smtp-sink -u "$(id -un)" -c 127.0.0.1:$SINK_PORT 1000 >/dev/null 2>&1 &
sleep 0.5

# seconds messages/s for one smtp-source run: $1 = sessions, $2 = payload bytes, $3 = host:port
source_run() {
    local start end
    start=$(date +%s.%N)
    smtp-source -N -d -s "$1" -l "$2" -m "$MESSAGES" -f sender@example.net -t a@veil.bench "$3" >/dev/null
    end=$(date +%s.%N)
    python3 -c "d=$end-$start; print(f'{d:.2f} s, {$MESSAGES/d:.0f} msg/s')"
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r)"
echo "aliases: $ALIASES, messages per run: $MESSAGES"
for size in 4096 102400; do
    for sessions in 1 16; do
        echo "ceiling  smtp-source -> smtp-sink           size=$size s=$sessions: $(source_run $sessions $size 127.0.0.1:$SINK_PORT)"
    done
done

VEIL_LOG_LEVEL=info "$VEIL" smtpd --no-rate-limits --smtp-port $VEIL_PORT --relay 127.0.0.1:$SINK_PORT \
    --max-connections 200 2>"$WORK/veil.log" &
VEIL_PID=$!
until smtp-source -m 1 -f warm@example.net -t 1a@veil.bench 127.0.0.1:$VEIL_PORT >/dev/null 2>&1; do sleep 0.2; done
for size in 4096 102400; do
    for sessions in 1 16; do
        : > "$WORK/veil.log"
        result=$(source_run $sessions $size 127.0.0.1:$VEIL_PORT)
        # Per-message time inside Veil (parse, lookups, rewrite, relay, log), from its log lines.
        percentiles=$(python3 - "$WORK/veil.log" <<'PY'
import re, sys
values = sorted(float(m.group(1)) for m in re.finditer(r"duration_ms=([0-9.]+)", open(sys.argv[1]).read()))
if values:
    pick = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    print(f"p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms over {len(values)} messages")
PY
)
        echo "veil     smtp-source -> veil -> smtp-sink   size=$size s=$sessions: $result; $percentiles"
    done
done
echo "veil peak memory (VmHWM): $(awk '/VmHWM/ {printf "%.0f MB", $2/1024}' /proc/$VEIL_PID/status)"
echo "email logs after the runs: $(sqlite3 "$DB" 'SELECT count(*) FROM email_logs')"
grep -a -v 'outcome=E200' "$WORK/veil.log" | grep -a -m 5 . || true
