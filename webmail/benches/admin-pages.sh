#!/usr/bin/env bash
# The admin pages of a domain with thousands of users, over real HTTPS: the overview,
# the domain page (usage counted from every mailbox's maildirsize), the first and the
# last page of users, a user search and an alias search.
#
#   webmail/benches/admin-pages.sh              # 5,000 users, 500 aliases
#   USERS=20000 webmail/benches/admin-pages.sh
#
# It builds the release binary, makes one domain with a root admin, copies that
# admin's account.toml to USERS more users (as a migration script would; hashing a
# password for each would only time argon2id), runs `mailroom serve` on 127.0.0.1 and
# prints, per page, the median of RUNS requests on one kept-alive connection: the
# server's own time (Server-Timing) and curl's total over loopback TLS.
set -euo pipefail
cd "$(dirname "$0")/../.."

USERS=${USERS:-5000}
ALIASES=${ALIASES:-500}
RUNS=${RUNS:-15}
SCRATCH=${SCRATCH:-$(mktemp -d /var/tmp/mailroom-admin-bench.XXXXXX)}
PORT=${PORT:-2944}
BASE=https://127.0.0.1:$PORT

command -v curl >/dev/null || { echo "curl is needed" >&2; exit 1; }
cargo build --release --locked --bin mailroom >&2
MAILROOM=$PWD/target/release/mailroom
DATA=$SCRATCH/data

pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  [ -n "${KEEP_SCRATCH:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT

mkdir -p "$DATA"
printf '[listen]\nsmtp = "off"\nsubmission = "off"\nsubmissions = "off"\npop3 = "off"\npop3s = "off"\nhttp = "off"\nhttps = "127.0.0.1:%s"\n[demo]\nenabled = false\n' "$PORT" >"$DATA/mailroom.toml"
"$MAILROOM" --data "$DATA" domain add big.example >/dev/null
echo 'root-password-1' | "$MAILROOM" --data "$DATA" user add root@big.example >/dev/null
"$MAILROOM" --data "$DATA" admins root@big.example >/dev/null
users=$DATA/domains/big.example/users
for i in $(seq -w 1 "$USERS"); do
  mkdir "$users/user$i" && cp "$users/root/account.toml" "$users/user$i/"
done
for i in $(seq 1 "$ALIASES"); do echo "alias$i: user$i@big.example"; done >"$DATA/domains/big.example/aliases"

"$MAILROOM" --data "$DATA" serve >"$SCRATCH/serve.out" 2>"$SCRATCH/serve.log" &
pid=$!
deadline=$((SECONDS + 30))
until curl -sk -o /dev/null "$BASE/login"; do
  [ $SECONDS -lt $deadline ] || { echo "mailroom serve did not start" >&2; cat "$SCRATCH/serve.log" >&2; exit 1; }
  sleep 0.05
done
csrf=$(curl -sk -c "$SCRATCH/jar" "$BASE/login" | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
status=$(curl -sk -b "$SCRATCH/jar" -c "$SCRATCH/jar" -o /dev/null -w '%{http_code}' \
  --data-urlencode "csrf=$csrf" --data-urlencode user=root@big.example \
  --data-urlencode password=root-password-1 "$BASE/login")
[ "$status" = 303 ] || { echo "login failed: $status" >&2; exit 1; }

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
last=$(( (USERS + 1 + 49) / 50 ))
echo "admin pages, one domain of $((USERS + 1)) users and $ALIASES aliases; median of $RUNS ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs))"
printf '%-40s %10s %10s\n' page "server ms" "client ms"
for page in "/admin" "/admin/domain?d=big.example" "/admin/users?d=big.example" \
  "/admin/users?d=big.example&page=$last" "/admin/users?d=big.example&q=user0042" \
  "/admin/aliases?d=big.example&q=alias49"; do
  args=()
  for _ in $(seq "$RUNS"); do args+=(-o /dev/null "$BASE$page"); done
  out=$(curl -sk --compressed -b "$SCRATCH/jar" \
    -w '%{http_code} %{time_total} %header{server-timing}\n' "${args[@]}" | sed 's/app;dur=//')
  if echo "$out" | awk '$1 != 200 { bad = 1 } END { exit !bad }'; then
    echo "$page: not 200" >&2; exit 1
  fi
  server=$(echo "$out" | awk '{ print $3 }' | median)
  client=$(echo "$out" | awk '{ print $2 * 1000 }' | median)
  printf '%-40s %10.2f %10.2f\n' "$page" "$server" "$client"
done
