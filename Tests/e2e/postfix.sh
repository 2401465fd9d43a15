#!/usr/bin/env bash
# End to end with a real Postfix: a private instance on loopback ports hands the alias domain to
# `veil serve` (API + mail daemon) and takes Veil's output back on a re-injection port; mailbox
# and contact addresses are delivered to mbox files. Sends with swaks and reads the files.
# Needs root (Postfix's master), postfix, swaks, curl, python3. Usage: Tests/e2e/postfix.sh [veil-binary]
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
VEIL="${1:-$ROOT/.build/debug/veil}"
WORK="$(mktemp -d /tmp/veil-e2e.XXXXXX)"
CONF="$WORK/postfix"
PF_PORT=${PF_PORT:-25025}       # the "Internet" port of this Postfix
REINJECT_PORT=${REINJECT_PORT:-25026}
SMTPD_PORT=${SMTPD_PORT:-25381}
API_PORT=${API_PORT:-25080}
API="http://127.0.0.1:$API_PORT"
VEIL_PID=""

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; [ -f "$WORK/maillog" ] && tail -n 30 "$WORK/maillog" >&2; exit 1; }
cleanup() {
    [ -n "$VEIL_PID" ] && kill "$VEIL_PID" 2>/dev/null || true
    postfix -c "$CONF" stop >/dev/null 2>&1 || true
    [ "${KEEP_E2E:-}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

# Waits up to $2 seconds (default 20) for the command in $1 to succeed.
wait_for() {
    local deadline=$((SECONDS + ${2:-20}))
    until eval "$1"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.2
    done
}
count() { grep -c -- "$2" "$WORK/mail/$1" 2>/dev/null || true; }
# The header block of the last message in an mbox file.
last_headers() { python3 - "$WORK/mail/$1" <<'PY'
import mailbox, re, sys
box = mailbox.mbox(sys.argv[1])
message = box[len(box) - 1]
# Unfolded (RFC 5322 §2.2.3): Veil folds the long fields it writes.
unfold = lambda value: re.sub(r"\r?\n(?=[ \t])", "", value)
print("".join(f"{k}: {unfold(v)}\n" for k, v in message.items()))
PY
}

step "private Postfix on 127.0.0.1:$PF_PORT (re-injection on $REINJECT_PORT)"
mkdir -p "$CONF" "$WORK/queue" "$WORK/data" "$WORK/mail"
chmod 755 "$WORK"
chown nobody:nogroup "$WORK/mail"
chown postfix "$WORK/data"
cat > "$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $WORK/queue
data_directory = $WORK/data
myhostname = mx.e2e.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
maillog_file = $WORK/maillog
maillog_file_prefixes = $WORK
alias_maps =
alias_database =
smtp_dns_support_level = disabled
smtputf8_enable = yes
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
# Veil's domain goes to veil smtpd (the lines of 'veil postfix-config').
relay_domains = veil.test
transport_maps = inline:{ veil.test=veil:[127.0.0.1]:$SMTPD_PORT, { reject.test = error:5.1.1 mailbox unavailable } }
# People's real inboxes: mbox files.
virtual_mailbox_domains = mailbox.test, contact.test
virtual_mailbox_base = $WORK/mail
virtual_mailbox_maps = inline:{ owner@mailbox.test=owner, news@contact.test=news, friend@contact.test=friend }
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
EOF
write_master() {
    cat > "$CONF/master.cf" <<EOF
127.0.0.1:$PF_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
virtual   unix  -       n       n       -       -       virtual
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
veil      unix  -       -       n       -       20      smtp
  -o smtp_send_xforward_command=no
EOF
    if [ "${1:-}" != "without-reinjection" ]; then
        cat >> "$CONF/master.cf" <<EOF
127.0.0.1:$REINJECT_PORT inet n  -       n       -       -       smtpd
  -o content_filter=
  -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks,no_milters,no_address_mappings
  -o smtpd_recipient_restrictions=permit_mynetworks,reject
  -o mynetworks=127.0.0.0/8
EOF
    fi
}
write_master
postfix -c "$CONF" check
postfix -c "$CONF" start
wait_for "swaks --server 127.0.0.1:$PF_PORT --quit-after EHLO >/dev/null 2>&1" || fail "Postfix did not start"

start_veil() {
    VEIL_DATABASE="$WORK/veil.sqlite" VEIL_ALIAS_DOMAINS=veil.test VEIL_RATE_LIMITS=off VEIL_DKIM_ED25519=on \
        "$VEIL" serve --port "$API_PORT" --smtp-port "$SMTPD_PORT" --relay "127.0.0.1:$REINJECT_PORT" "$@" \
        >>"$WORK/veil.out" 2>>"$WORK/veil.log" &
    VEIL_PID=$!
    wait_for "curl -sf $API/health >/dev/null" || fail "veil did not start: $(cat "$WORK/veil.log")"
}

step "veil serve (API :$API_PORT, smtpd :$SMTPD_PORT, relay :$REINJECT_PORT)"
start_veil --admin-email owner@mailbox.test
KEY="$(sed -n 's/.*API key: //p' "$WORK/veil.out")"
[ -n "$KEY" ] || fail "no API key printed"
api() { curl -sf -H "Authentication: $KEY" -H 'Content-Type: application/json' "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ALIAS_JSON="$(api -X POST "$API/api/alias/random/new" -d '{"note":"e2e"}')"
ALIAS="$(echo "$ALIAS_JSON" | json 'd["alias"]')"
ALIAS_ID="$(echo "$ALIAS_JSON" | json 'd["id"]')"
echo "alias: $ALIAS (id $ALIAS_ID)"

step "forward: contact -> Postfix -> veil -> Postfix -> mailbox"
swaks --server "127.0.0.1:$PF_PORT" --from news@contact.test --to "$ALIAS" \
    --header "From: Contact News <news@contact.test>" --header "Subject: e2e forward" \
    --header "X-Spam-Trace: secret" --body $'First line\r\n.dot line\r\nLast line' >/dev/null || fail "swaks forward"
wait_for "[ \"\$(count owner 'Subject: e2e forward')\" = 1 ]" || fail "forward not delivered"
HEADERS="$(last_headers owner)"
echo "$HEADERS" | grep -q '^X-Veil-Type: Forward' || fail "no X-Veil-Type"
echo "$HEADERS" | grep -q "^X-Veil-Envelope-To: $ALIAS" || fail "no X-Veil-Envelope-To"
FROM="$(echo "$HEADERS" | sed -n 's/^From: //p')"
REVERSE="$(echo "$FROM" | sed -n 's/.*<\(.*@veil\.test\)>.*/\1/p')"
[[ "$FROM" == '"Contact News - news at contact.test" <'* ]] || fail "From is $FROM"
[ -n "$REVERSE" ] || fail "no reverse-alias in From: $FROM"
echo "$HEADERS" | grep -q 'X-Spam-Trace' && fail "X-* header leaked through"
echo "$HEADERS" | grep -q '^Return-Path: <sl\.' || fail "envelope sender is not a VERP address"
grep -q '^\.dot line' "$WORK/mail/owner" || grep -q '^>*\.dot line' "$WORK/mail/owner" || fail "body changed"
grep -q '^Last line' "$WORK/mail/owner" || fail "body changed"
echo "From: $FROM"

step "reply: mailbox -> reverse-alias -> contact, from the alias"
swaks --server "127.0.0.1:$PF_PORT" --from owner@mailbox.test --to "$REVERSE" \
    --header "From: Owner <owner@mailbox.test>" --header "Subject: e2e reply" --body "Thanks" >/dev/null || fail "swaks reply"
wait_for "[ \"\$(count news 'Subject: e2e reply')\" = 1 ]" || fail "reply not delivered"
HEADERS="$(last_headers news)"
echo "$HEADERS" | grep -q "^From: $ALIAS\$" || fail "reply From is not the alias: $(echo "$HEADERS" | grep '^From')"
echo "$HEADERS" | grep -qi 'owner@mailbox.test' && fail "the mailbox address leaked: $HEADERS"
echo "$HEADERS" | grep -q '^Return-Path: <sl\.' || fail "reply envelope sender is not a VERP address"

step "forward of a message with folded headers, a non-ASCII name and trailing blank lines"
printf 'From: =?utf-8?q?Ren=%s=A9e_N=%s=BC?= <news@contact.test>\r\nTo: %s\r\nSubject: e2e folded\r\n  continued subject\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nTrailing spaces   \r\n\tTabbed line\r\nCaf\xc3\xa9\r\n\r\n\r\n\r\n' C3 C3 "$ALIAS" > "$WORK/folded.eml"
swaks --server "127.0.0.1:$PF_PORT" --from news@contact.test --to "$ALIAS" --data "$WORK/folded.eml" >/dev/null || fail "swaks folded"
wait_for "[ \"\$(count owner 'Subject: e2e folded')\" = 1 ]" || fail "folded message not delivered"
HEADERS="$(last_headers owner)"
echo "$HEADERS" | grep -q '^From: =?utf-8?q?Ren=C3=A9e_N=C3=BC_-_news_at_contact=2Etest?= <' || fail "non-ASCII From: $(echo "$HEADERS" | grep '^From')"

# (Each input line stays under Postfix's line_length_limit of 2048; Veil's rewriting makes To longer.)
step "forward whose rewritten To exceeds 998 octets: folded, every line <= 998, signed (verified below)"
python3 - "$ALIAS" > "$WORK/long.eml" <<'PY'
import sys
alias = sys.argv[1]
to = ", ".join([alias] + [f'"Colleague Number {i} of the Long Team" <colleague{i}@contact.test>' for i in range(1, 25)])
refs = " ".join(f"<{i}.1700000000.4242@mail.contact.test>" for i in range(1, 46))
sys.stdout.write(f"From: boss@contact.test\r\nTo: {to}\r\nReferences: {refs}\r\nSubject: e2e long headers\r\n\r\nall hands\r\n")
PY
swaks --server "127.0.0.1:$PF_PORT" --from boss@contact.test --to "$ALIAS" --data "$WORK/long.eml" >/dev/null || fail "swaks long headers"
wait_for "[ \"\$(count owner 'Subject: e2e long headers')\" = 1 ]" || fail "long-header message not delivered"
python3 - "$WORK/mail/owner" <<'PY' || fail "a header line over 998 octets"
import mailbox, sys
box = mailbox.mbox(sys.argv[1])
raw = [box.get_bytes(k) for k in box.keys() if b"Subject: e2e long headers" in box.get_bytes(k)][-1]
header = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0]
longest = max(len(line) for line in header.split(b"\n"))
if longest > 998: sys.exit(f"longest header line: {longest} octets")
print(f"longest header line: {longest} octets")
PY

step "DKIM: the forward and the reply verify with dkimpy against 'veil domain dns'"
python3 -m venv "$WORK/venv" && "$WORK/venv/bin/pip" install -q dkimpy pynacl >/dev/null 2>&1 || fail "could not install dkimpy from PyPI"
RECORDS="$(VEIL_DATABASE="$WORK/veil.sqlite" VEIL_ALIAS_DOMAINS=veil.test VEIL_DKIM_ED25519=on "$VEIL" domain dns veil.test)"
echo "$RECORDS" | cut -c1-90
"$WORK/venv/bin/python" - "$RECORDS" "$WORK/mail/owner" "$WORK/mail/news" <<'PY' || fail "DKIM verification"
import dkim, mailbox, re, sys
records = {}
for line in sys.argv[1].splitlines():
    name, _, rest = line.partition(" IN TXT ")
    records[name.rstrip(".")] = "".join(re.findall(r'"([^"]*)"', rest)).encode()
def dns(query, timeout=5):
    query = query.decode() if isinstance(query, bytes) else query
    return records.get(query.rstrip("."))
for path in sys.argv[2:]:
    box = mailbox.mbox(path)
    for key in box.keys():
        raw = box.get_bytes(key).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        count = raw.split(b"\r\n\r\n", 1)[0].count(b"\r\nDKIM-Signature:")
        if count != 2:
            sys.exit(f"{path}#{key}: {count} signatures, expected RSA and Ed25519")
        verifier = dkim.DKIM(raw)
        for index in range(count):
            if not verifier.verify(idx=index, dnsfunc=dns):
                sys.exit(f"{path}#{key}: signature {index} does not verify")
        print(f"{path.rsplit('/', 1)[-1]}#{key}: RSA and Ed25519 DKIM signatures verified")
PY

ACTIVITY="$(api "$API/api/aliases/$ALIAS_ID/activities?page_id=0" | json '",".join(a["action"] for a in d["activities"])')"
[ "$ACTIVITY" = "forward,forward,reply,forward" ] || fail "activities: $ACTIVITY"

step "blocked contact: accepted, logged as a block, not delivered"
# The long-header forward added two dozen contacts: look through the first pages.
CONTACT_ID="$( (api "$API/api/aliases/$ALIAS_ID/contacts?page_id=0"; echo; api "$API/api/aliases/$ALIAS_ID/contacts?page_id=1"; echo) \
    | python3 -c 'import json,sys; print([c["id"] for line in sys.stdin if line.strip() for c in json.loads(line)["contacts"] if c["contact"]=="news@contact.test"][0])')"
api -X POST "$API/api/contacts/$CONTACT_ID/toggle" >/dev/null
swaks --server "127.0.0.1:$PF_PORT" --from news@contact.test --to "$ALIAS" --header "Subject: e2e blocked" >/dev/null
wait_for "grep -q 'E200' $WORK/maillog && [ \"\$(api $API/api/aliases/$ALIAS_ID | json 'd[\"nb_block\"]')\" = 1 ]" \
    || fail "block not logged"
api -X POST "$API/api/contacts/$CONTACT_ID/toggle" >/dev/null

step "disabled alias: accepted, logged as a block, not delivered"
api -X POST "$API/api/aliases/$ALIAS_ID/toggle" >/dev/null
swaks --server "127.0.0.1:$PF_PORT" --from other@contact.test --to "$ALIAS" --header "Subject: e2e disabled" >/dev/null
wait_for "[ \"\$(api $API/api/aliases/$ALIAS_ID | json 'd[\"nb_block\"]')\" = 2 ]" || fail "disabled alias not logged"
api -X POST "$API/api/aliases/$ALIAS_ID/toggle" >/dev/null
sleep 1
[ "$(count owner 'Subject: e2e blocked')" = 0 ] && [ "$(count owner 'Subject: e2e disabled')" = 0 ] \
    || fail "blocked mail was delivered"

step "unknown alias: refused at RCPT"
OUT="$(swaks --server "127.0.0.1:$SMTPD_PORT" --from news@contact.test --to nobody@veil.test 2>&1 || true)"
echo "$OUT" | grep -q '<\*\* 550 5.1.1 E515' || fail "unknown alias not refused: $OUT"
OUT="$(swaks --server "127.0.0.1:$SMTPD_PORT" --from news@contact.test --to someone@gmail.com 2>&1 || true)"
echo "$OUT" | grep -q '<\*\* 550 5.7.1 E503' || fail "relay attempt not refused: $OUT"
swaks --server "127.0.0.1:$PF_PORT" --from news@contact.test --to nobody@veil.test --header "Subject: e2e unknown" >/dev/null
wait_for "grep -q 'to=<nobody@veil.test>.*status=bounced.*550 5.1.1 E515' $WORK/maillog" || fail "Postfix did not bounce the unknown alias"

step "a mailbox whose domain rejects: Postfix's DSN to the VERP address ends as a bounced log and a notification"
BOUNCE_KEY="$(VEIL_DATABASE="$WORK/veil.sqlite" VEIL_ALIAS_DOMAINS=veil.test "$VEIL" user create --email gone@reject.test)"
BOUNCE_JSON="$(curl -sf -H "Authentication: $BOUNCE_KEY" -X POST "$API/api/alias/random/new" -H 'Content-Type: application/json' -d '{}')"
BOUNCE_ALIAS="$(echo "$BOUNCE_JSON" | json 'd["alias"]')"
BOUNCE_ALIAS_ID="$(echo "$BOUNCE_JSON" | json 'd["id"]')"
swaks --server "127.0.0.1:$PF_PORT" --from news@contact.test --to "$BOUNCE_ALIAS" --header "Subject: e2e bounce" >/dev/null
bounced_action() { curl -sf -H "Authentication: $BOUNCE_KEY" "$API/api/aliases/$BOUNCE_ALIAS_ID/activities?page_id=0" | json '",".join(a["action"] for a in d["activities"])'; }
wait_for '[ "$(bounced_action)" = "bounced" ]' 30 || fail "no bounced log: $(bounced_action)"
grep -q "to=<sl\.[a-z0-9.]*@veil.test>.*status=sent.*250 2.0.0 E211" "$WORK/maillog" || fail "the DSN did not reach veil as a bounce"
NOTE="$(python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); print(c.execute(\"SELECT n.title FROM notifications n JOIN users u ON u.id=n.user_id WHERE u.email='gone@reject.test'\").fetchone()[0])" "$WORK/veil.sqlite")"
[ "$NOTE" = "An email sent to $BOUNCE_ALIAS cannot be delivered to your mailbox" ] || fail "notification: $NOTE"
echo "notification: $NOTE"

step "relay down: Veil answers 4xx, Postfix keeps the mail, exactly one copy after the relay returns"
write_master without-reinjection
postfix -c "$CONF" reload >/dev/null 2>&1
wait_for "! swaks --server 127.0.0.1:$REINJECT_PORT --quit-after CONNECT >/dev/null 2>&1" || fail "re-injection port still open"
swaks --server "127.0.0.1:$PF_PORT" --from news@contact.test --to "$ALIAS" --header "Subject: e2e relay down" >/dev/null
wait_for "grep -q 'to=<$ALIAS>.*status=deferred.*451 4.4.0 E407' $WORK/maillog" || fail "no 4xx while the relay was down"
write_master
postfix -c "$CONF" reload >/dev/null 2>&1
wait_for "[ \"\$(count owner 'Subject: e2e relay down')\" = 1 ]" 40 || fail "deferred mail not delivered after the relay came back"
sleep 3
[ "$(count owner 'Subject: e2e relay down')" = 1 ] || fail "duplicate copies after retry"

step "SIGKILL in the middle of a burst: every message the sender saw accepted is delivered"
: > "$WORK/accepted"
(
    for i in $(seq 1 40); do
        if swaks --server "127.0.0.1:$SMTPD_PORT" --from news@contact.test --to "$ALIAS" \
            --header "Subject: burst $i" --timeout 5 >/dev/null 2>&1; then
            echo "burst $i" >> "$WORK/accepted"
        fi
    done
) &
SENDER=$!
wait_for "[ \$(wc -l < $WORK/accepted) -ge 10 ]" 60 || fail "burst did not start"
kill -9 "$VEIL_PID"
wait "$SENDER" || true
ACCEPTED=$(wc -l < "$WORK/accepted")
echo "accepted before and around the kill: $ACCEPTED of 40"
start_veil
while read -r subject; do
    wait_for "[ \"\$(count owner \"Subject: $subject\$\")\" = 1 ]" 30 || fail "accepted '$subject' was not delivered"
done < "$WORK/accepted"

step "all end-to-end checks passed"
