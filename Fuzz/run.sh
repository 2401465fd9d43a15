#!/usr/bin/env bash
# Builds the libFuzzer binary (debug, -sanitize=fuzzer,address) and runs each target for a
# bounded time on a copy of its seed corpus. Usage: Fuzz/run.sh [seconds-per-target] [target...]
# Crashes land in Fuzz/artifacts/<target>/; a line per target reports executions and findings.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_PER_TARGET="${1:-60}"; shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(smtp-line smtp-data smtp-command message address-list encoded-words authentication-results delivery-report csv multipart)
swift build -Xswiftc -sanitize=fuzzer,address >/dev/null
BIN="$(swift build -Xswiftc -sanitize=fuzzer,address --show-bin-path)/veil-fuzz"
status=0
for target in "${TARGETS[@]}"; do
    work="$(mktemp -d)"
    [ -d "corpus/$target" ] && cp corpus/"$target"/* "$work"/ 2>/dev/null || true
    mkdir -p "artifacts/$target"
    log="$(mktemp)"
    if VEIL_FUZZ_TARGET="$target" "$BIN" "$work" -max_total_time="$SECONDS_PER_TARGET" -max_len=8192 -rss_limit_mb=2048 \
        -timeout=5 -artifact_prefix="artifacts/$target/" -print_final_stats=1 >"$log" 2>&1; then
        result="no crash"
    else
        result="FOUND: $(grep -m1 -E 'ERROR|Fatal error|deadly signal|timeout|out-of-memory' "$log" || echo "exit status $?")"
        status=1
    fi
    runs="$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')"
    cov="$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+' || true)"
    printf '%-24s %12s execs in %ss  %-10s %s\n' "$target" "${runs:-?}" "$SECONDS_PER_TARGET" "${cov:-}" "$result"
    rm -rf "$work" "$log"
done
exit $status
