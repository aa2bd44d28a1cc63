#!/usr/bin/env bash
# The webmail's folder page over real HTTPS, the way SqWebMail was measured: page 1 of a
# 20,000- and a 100,000-message INBOX the first time (no header index yet), warm, right
# after reading one unread message, and a header search; and the page's weight.
#
#   webmail/benches/folder-page.sh              # 20,000 and 100,000 messages
#   SIZES=20000 FIRST=3 webmail/benches/folder-page.sh
#
# It builds the release binary, runs `mailroom serve` on 127.0.0.1 over a scratch data
# directory, fills the demo account's INBOX with generated messages (written directly
# into cur/, so they sit in the page cache as in the maildir benchmark), logs in with
# curl and times requests on one kept-alive connection. The first view is measured
# FIRST times (5), each with the index deleted and the server restarted. "server" is the Server-Timing
# the webmail reports (request in → response out, no network or TLS); "client" is
# curl's time_total for the same request over loopback TLS.
set -euo pipefail
cd "$(dirname "$0")/../.."

SIZES=${SIZES:-"20000 100000"}
WARM=${WARM:-30}
READS=${READS:-10}
FIRST=${FIRST:-5}
SCRATCH=${SCRATCH:-$(mktemp -d /var/tmp/mailroom-folder-bench.XXXXXX)}
PORT=${PORT:-2943}
BASE=https://127.0.0.1:$PORT

command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
cargo build --release --locked --bin mailroom >&2
MAILROOM=$PWD/target/release/mailroom

pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "${KEEP_SCRATCH:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT

# One curl run over one connection: every URL once, a line per URL:
# "<status> <client seconds> <bytes on the wire> <server ms>".
fetch() {
  local args=()
  for url in "$@"; do args+=(-o /dev/null "$BASE$url"); done
  curl -sk --compressed -b "$SCRATCH/jar" -c "$SCRATCH/jar" \
    -w '%{http_code} %{time_total} %{size_download} %header{server-timing}\n' "${args[@]}" |
    sed 's/app;dur=//'
}
median_col() { # median of column $1 of stdin
  awk -v c="$1" '{ print $c }' | sort -g |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit }
      print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
start_server() { # start_server DATA N: mailroom serve on $PORT, waits until it answers
  "$MAILROOM" --data "$1" serve >"$SCRATCH/serve-$2.out" 2>>"$SCRATCH/serve-$2.log" &
  pid=$!
  local deadline=$((SECONDS + 30))
  until curl -sk -o /dev/null "$BASE/login"; do
    [ $SECONDS -lt $deadline ] || { echo "mailroom serve did not start" >&2; cat "$SCRATCH/serve-$2.log" >&2; exit 1; }
    sleep 0.05
  done
}
stop_server() {
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
}
login() { # a fresh session in $SCRATCH/jar
  rm -f "$SCRATCH/jar"
  local csrf
  csrf=$(curl -sk -c "$SCRATCH/jar" -b "$SCRATCH/jar" "$BASE/login" | grep -o 'name="csrf" value="[^"]*' | cut -d'"' -f4)
  curl -sk -o /dev/null -c "$SCRATCH/jar" -b "$SCRATCH/jar" "$BASE/login" --data-urlencode "csrf=$csrf" \
    --data-urlencode user=demo@demo.example --data-urlencode password=mailroom-demo
}
check_ok() { # every status 200
  awk '$1 != 200 { print "a request answered " $1 > "/dev/stderr"; bad = 1 } END { exit bad }'
}

printf '%s\n' "Machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -r), $(date -u +%F)"
printf '\n| messages | first view (no index) | warm page 1 | page 1 after reading one | header search (absent word) | page weight (gzip / decoded) |\n'
printf '|---:|---:|---:|---:|---:|---:|\n'

for n in $SIZES; do
  data=$SCRATCH/data-$n
  mkdir -p "$data"
  cat >"$data/mailroom.toml" <<TOML
[listen]
smtp = "off"
submission = "off"
submissions = "off"
https = "127.0.0.1:$PORT"
http = "off"
TOML
  start_server "$data" "$n"
  inbox=$data/domains/demo.example/users/demo/Maildir
  # Messages like today's mail: a 1.5–3 KiB header block, 1–30 KiB of body, one in ten
  # unread, one in seven with an attachment.
  python3 - "$inbox/cur" "$n" "$SCRATCH/unread-$n" <<'PY'
import os, sys
cur, n = sys.argv[1], int(sys.argv[2])
unread = open(sys.argv[3], "w")
senders = ["Alice Martin", "bob", "Chloé Durand", "newsletter", "Dmitri Ivanov", "eve"]
subjects = ["Quarterly report", "Re: lunch on Friday", "Votre facture", "AW: Projekt", "Weekly digest"]
lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.\n"
for i in range(n):
    who = senders[i % len(senders)]
    h = [f"Return-Path: <{i}@lists.example.org>", "Delivered-To: demo@demo.example"]
    for hop in range(3):
        h.append(f"Received: from mx{hop}.example.org (mx{hop}.example.org [192.0.2.{hop}])\n\tby mail.demo.example (Mailroom) with ESMTPS id {i}{hop}\n\tfor <demo@demo.example>; Tue, {1 + i % 28} Jan 2024 10:{i % 60:02}:00 +0000")
    h.append("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.org; s=sel;\n\th=from:to:subject:date:message-id;\n\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=;\n\tb=dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR")
    h.append(f"From: {who} <{who.lower().replace(' ', '.')}@example.org>\nTo: Demo <demo@demo.example>\nSubject: {subjects[i % 5]} {i}\nDate: Tue, {1 + i % 28} Jan 2024 {i % 24:02}:{i % 60:02}:00 +0000\nMessage-ID: <{i}.{i * 7919}@example.org>")
    if i % 3 == 0:
        h.append(f"In-Reply-To: <{i // 3}.x@example.org>\nReferences: <root.{i % 100}@example.org> <{i // 3}.x@example.org>")
    h.append("List-Id: <news.example.org>\nMIME-Version: 1.0")
    if i % 7 == 0:
        h.append('Content-Type: multipart/mixed; boundary="b1"\n\n--b1\nContent-Type: text/plain\n')
    else:
        h.append("Content-Type: text/plain; charset=utf-8\n")
    body = 1024 + (i * 2654435761) % (29 * 1024)
    text = "\n".join(h) + "\n" + lorem * (body // len(lorem) + 1)
    if i % 7 == 0:
        text += '--b1\nContent-Type: application/pdf; name="r.pdf"\nContent-Disposition: attachment; filename="r.pdf"\nContent-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b1--\n'
    data = text.encode()
    flags = "" if i % 10 == 0 else "S"
    name = f"{1700000000 + i}.M{i}P1Q{i}.bench,S={len(data)}:2,{flags}"
    if not flags:
        unread.write(name.split(":")[0].replace(",", "%2C").replace("=", "%3D") + "\n")
    with open(os.path.join(cur, name), "wb") as f:
        f.write(data)
PY
  # As for a mailbox whose last change from outside Mailroom is more than a moment old:
  # a directory changed in the last 2 s (the index's racy window, INTERNALS.md) is
  # listed again at each view until that change is safely in the past. The window is
  # judged by the directories' ctime, which no tool can set back: the clock must pass.
  sleep 2.5
  # The first view, FIRST times: each time with the index deleted and a fresh server
  # (nothing in its memory), the messages still in the page cache.
  first=""
  for round in $(seq "$FIRST"); do
    if [ "$round" -gt 1 ]; then
      stop_server
      rm -rf "$inbox/mailroom-index" "$inbox/mailroom-journal"
      start_server "$data" "$n"
    fi
    login
    first+=$(fetch "/folder?f=INBOX")$'\n'
  done
  first=$(printf '%s' "$first")
  echo "$first" | check_ok
  warm=$(fetch $(for _ in $(seq "$WARM"); do echo "/folder?f=INBOX"; done))
  echo "$warm" | check_ok
  # Reading: open an unread message (it becomes seen: one record of the index changes),
  # then page 1 again.
  after=""
  for unique in $(head -n "$READS" "$SCRATCH/unread-$n"); do
    lines=$(fetch "/message?f=INBOX&m=$unique" "/folder?f=INBOX")
    echo "$lines" | check_ok
    after+=$(echo "$lines" | tail -1)$'\n'
  done
  search=$(fetch $(for _ in $(seq "$READS"); do echo "/folder?f=INBOX&q=zzzabsent&field=any"; done))
  echo "$search" | check_ok
  decoded=$(curl -sk -b "$SCRATCH/jar" "$BASE/folder?f=INBOX" | wc -c)

  fmt() { # "<server ms> ms (client <ms>)" from fetch lines on stdin
    local lines; lines=$(cat)
    printf '%.2f ms (client %.1f ms)' "$(echo "$lines" | median_col 4)" \
      "$(echo "$lines" | median_col 2 | awk '{ print $1 * 1000 }')"
  }
  span() { # "(min–max)" of server ms, from fetch lines on stdin
    awk '{ print $4 }' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.0f–%.0f", lo, hi }'
  }
  printf '| %s | %s, range %s | %s | %s | %s | %s B / %s B |\n' "$n" \
    "$(echo "$first" | fmt)" "$(echo "$first" | span)" "$(echo "$warm" | fmt)" "$(printf '%s' "$after" | fmt)" \
    "$(echo "$search" | fmt)" "$(echo "$first" | head -1 | awk '{ print $3 }')" "$decoded"

  stop_server
  rm -rf "$data"
done
printf '\nMedians of %s first views, %s warm requests, %s read-then-list rounds and %s searches; server = Server-Timing.\n' "$FIRST" "$WARM" "$READS" "$READS"
