#!/usr/bin/env bash
# Mailroom and Postfix side by side on this machine: SMTP receipt → durable queue →
# virtual Maildirs, fsync on in both, driven by the same client (Postfix's smtp-source).
#
#   mta-core/benches/smtp-vs-postfix.sh            # 5,000 messages of 2 KiB, 10 sessions
#   COUNT=20000 SIZE=4096 mta-core/benches/smtp-vs-postfix.sh
#
# Needs root (it installs postfix from Debian if missing and runs a private Postfix
# instance as the postfix user; the system's own Postfix daemon is never started).
# Everything listens on 127.0.0.1 and lives under a scratch directory that is removed.
# Prints, for each MTA: messages/s accepted, messages/s delivered into Maildirs, the
# time to fan one message out to 1,024 mailboxes, peak RSS; then Mailroom/Postfix.
set -euo pipefail
cd "$(dirname "$0")/../.."

COUNT=${COUNT:-5000}
SIZE=${SIZE:-2048}
SESSIONS=${SESSIONS:-10}
FANOUT=${FANOUT:-1024}
SCRATCH=${SCRATCH:-$(mktemp -d /var/tmp/mailroom-vs-postfix.XXXXXX)}
PF_PORT=${PF_PORT:-2626}
MR_PORT=${MR_PORT:-2627}

if ! command -v smtp-source >/dev/null || ! command -v postfix >/dev/null; then
  echo "installing postfix (for smtp-source and the comparison; its daemon stays off)" >&2
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
cargo build --release --locked --bin mailroom >&2
MAILROOM=$PWD/target/release/mailroom

pids=()
cleanup() {
  [ -n "${PF_ETC:-}" ] && postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -n "${KEEP_SCRATCH:-}" ] || rm -rf "$SCRATCH"
}
trap cleanup EXIT

count_files() { # the messages in every new/ and cur/ below $1
  find "$1" -path '*/new/*' -type f -o -path '*/cur/*' -type f 2>/dev/null | wc -l
}

wait_port() { # wait until 127.0.0.1:$1 accepts connections
  local deadline=$((SECONDS + 30))
  until (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || { echo "nothing listens on port $1" >&2; exit 1; }
    sleep 0.05
  done
}

wait_files() { # wait until $1 holds $2 messages; prints the seconds since $3 (epoch ns)
  local dir=$1 want=$2 t0=$3 deadline=$((SECONDS + 600))
  while [ "$(count_files "$dir")" -lt "$want" ]; do
    [ $SECONDS -lt $deadline ] || { echo "timeout waiting for $want messages in $dir" >&2; exit 1; }
    sleep 0.02
  done
  awk -v a="$(date +%s%N)" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e9 }'
}

# Peak RSS (KiB) of a set of processes, sampled every 50 ms into a file until killed.
sample_rss() { # $1: pgrep pattern or pid list command, $2: output file
  local peak=0 now
  while true; do
    now=$(eval "$1" | xargs -r -I{} awk '/VmRSS/ {print $2}' /proc/{}/status 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    [ -n "$now" ] && [ "$now" -gt "$peak" ] && { peak=$now; echo "$peak" >"$2"; }
    sleep 0.05
  done
}

run_load() { # $1 name, $2 port, $3 maildir root → sets ACCEPT_S DELIVER_S FANOUT_S
  local name=$1 port=$2 root=$3 t0 t1
  t0=$(date +%s%N)
  smtp-source -c -s "$SESSIONS" -m "$COUNT" -l "$SIZE" -f loader@far.example -t u0@bench.example "127.0.0.1:$port" >/dev/null
  t1=$(date +%s%N)
  ACCEPT_S=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e9 }')
  DELIVER_S=$(wait_files "$root" "$COUNT" "$t0")
  t0=$(date +%s%N)
  smtp-source -s 1 -m 1 -l "$SIZE" -r "$FANOUT" -f loader@far.example -t u@bench.example "127.0.0.1:$port" >/dev/null
  FANOUT_S=$(wait_files "$root" $((COUNT + FANOUT)) "$t0")
  echo "$name: $COUNT accepted in ${ACCEPT_S} s, delivered in ${DELIVER_S} s; fan-out to $FANOUT in ${FANOUT_S} s" >&2
}

# --- Postfix: a private instance delivering to virtual Maildirs --------------------
# A Postfix of an earlier run may still be stopping: wait for its port to be free.
deadline=$((SECONDS + 30))
while (exec 3<>"/dev/tcp/127.0.0.1/$PF_PORT") 2>/dev/null; do
  [ $SECONDS -lt $deadline ] || { echo "port $PF_PORT stays busy" >&2; exit 1; }
  sleep 0.2
done
# mktemp makes the directory 0700; the postfix user must be able to pass through it.
chmod 755 "$SCRATCH"
PF=$SCRATCH/postfix
PF_ETC=$PF/etc
mkdir -p "$PF_ETC" "$PF/spool" "$PF/data" "$PF/mail"
cp /etc/postfix/master.cf "$PF_ETC/"
sed -i "s/^smtp      inet/$PF_PORT      inet/" "$PF_ETC/master.cf"
uid=$(id -u postfix); gid=$(id -g postfix)
{
  # smtp-source -r N sends to Nu@, …, 2u@, u@.
  for name in u $(seq -f '%gu' 2 "$FANOUT"); do echo "$name@bench.example bench.example/$name/Maildir/"; done
  echo "u0@bench.example bench.example/u0/Maildir/"
} >"$PF_ETC/vmailbox"
cat >"$PF_ETC/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $PF/spool
data_directory = $PF/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.example
mydestination =
relay_domains =
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = bench.example
virtual_mailbox_base = $PF/mail
virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
virtual_minimum_uid = 1
smtpd_recipient_limit = 2000
default_process_limit = 100
maillog_file = $PF/maillog
alias_maps =
alias_database =
CF
chown -R postfix:postfix "$PF/mail" "$PF/data"
postfix -c "$PF_ETC" check 2>/dev/null || true
if ! script -qfc "postfix -c $PF_ETC start" /dev/null >"$SCRATCH/postfix-start.log" 2>&1; then
  cat "$SCRATCH/postfix-start.log" >&2; exit 1
fi
wait_port "$PF_PORT"
PF_RSS=$SCRATCH/pf.rss; echo 0 >"$PF_RSS"
sample_rss "{ pgrep -x master; pgrep -u postfix; } | sort -u" "$PF_RSS" & pids+=($!)
run_load postfix "$PF_PORT" "$PF/mail"
PF_ACCEPT=$ACCEPT_S PF_DELIVER=$DELIVER_S PF_FANOUT=$FANOUT_S
postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
kill "${pids[-1]}" 2>/dev/null || true

# --- Mailroom: the same users, the same load -----------------------------------------
MR=$SCRATCH/mailroom
mkdir -p "$MR"
printf '[listen]\nsmtp = "127.0.0.1:%s"\nsubmission = "off"\nsubmissions = "off"\n[demo]\nenabled = false\n[smtp]\nmax_recipients = 2000\n' "$MR_PORT" >"$MR/mailroom.toml"
"$MAILROOM" --data "$MR" domain add bench.example >/dev/null
echo "bench-password" | "$MAILROOM" --data "$MR" user add u0@bench.example >/dev/null
# 1,024 more mailboxes: copies of the first (argon2 for each would take a minute).
users=$MR/domains/bench.example/users
for name in u $(seq -f '%gu' 2 "$FANOUT"); do cp -r "$users/u0" "$users/$name"; done
RUST_LOG=warn "$MAILROOM" --data "$MR" serve >/dev/null 2>"$SCRATCH/mailroom.log" & MR_PID=$!; pids+=($MR_PID)
wait_port "$MR_PORT"
run_load mailroom "$MR_PORT" "$MR/domains"
MR_RSS=$(awk '/VmHWM/ {print $2}' "/proc/$MR_PID/status")

# --- Figures -------------------------------------------------------------------------
rate() { awk -v n="$COUNT" -v s="$1" 'BEGIN { printf "%d", n / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
pf_rss=$(cat "$PF_RSS")
printf '\n%s, %s cores; %s messages of %s bytes over %s sessions, fsync on in both\n' \
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)" "$(nproc)" "$COUNT" "$SIZE" "$SESSIONS"
printf '%-34s %12s %12s %10s\n' "" "Mailroom" "Postfix" "ratio"
printf '%-34s %12s %12s %10s\n' "accepted, messages/s" "$(rate "$ACCEPT_S")" "$(rate "$PF_ACCEPT")" "$(ratio "$(rate "$ACCEPT_S")" "$(rate "$PF_ACCEPT")")"
printf '%-34s %12s %12s %10s\n' "delivered into Maildirs, messages/s" "$(rate "$DELIVER_S")" "$(rate "$PF_DELIVER")" "$(ratio "$(rate "$DELIVER_S")" "$(rate "$PF_DELIVER")")"
printf '%-34s %12s %12s %10s\n' "fan-out to $FANOUT mailboxes, s" "$FANOUT_S" "$PF_FANOUT" "$(ratio "$PF_FANOUT" "$FANOUT_S")"
printf '%-34s %12s %12s\n' "peak RSS, MiB" "$((MR_RSS / 1024))" "$((pf_rss / 1024))"
echo "(ratios: Mailroom/Postfix for rates, Postfix/Mailroom for the fan-out time; Postfix's"
echo " RSS is the sum over its processes at the sampled peak, so shared pages count more than once)"
