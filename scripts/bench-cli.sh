#!/usr/bin/env bash
# bench-cli.sh — mqscope's command line against the brokers' own tools, as
# ratios in one run (figures go in BENCHMARKS.md, "Command line"):
#   1. NATS Core firehose: `mqscope tail '>' -o jsonl` vs `nats sub '>'`, each
#      on its own run of `nats bench pub` (N messages of 128 B);
#   2. browse a stream of N messages to the end: JetStream (`nats sub --stream
#      --all`) and Redis (`redis-cli XRANGE`), output to /dev/null.
# Needs nats-server, natscli ($(go env GOPATH)/bin/nats), redis-cli and a Redis
# at $REDIS_URL (default redis://127.0.0.1:6379). N=1000000 by default.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-1000000}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
NATS=${NATS:-$(go env GOPATH)/bin/nats}
tmp=$(mktemp -d)
go build -o "$tmp/mqscope" .
MQ="$tmp/mqscope --log-file $tmp/mqscope.log"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL=nats://127.0.0.1:$PORT
nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$tmp/js" >"$tmp/server.log" 2>&1 &
srv=$!
KEY=bench_cli_browse_$$
cleanup() { kill "$srv" 2>/dev/null || true; redis-cli -u "$REDIS_URL" DEL "$KEY" >/dev/null 2>&1 || true; rm -rf "$tmp"; }
trap cleanup EXIT
sleep 1
export NATS_URL=$URL
TIMEFORMAT='%R %U %S'

# secs CMD... — wall, user and system seconds of CMD.
secs() { { time "$@" >/dev/null 2>"$tmp/err"; } 2>&1 | tail -1; }

# firehose NAME CMD... — start the subscriber (which stops at N messages, or
# SIGTERM after $WAIT s when it lost some), publish N, wait for it.
WAIT=${WAIT:-60}
firehose() {
  local name=$1; shift
  { time "$@" ; } 2>"$tmp/$name.time" >"$tmp/$name.count" &
  local sub=$!
  sleep 1
  "$NATS" bench pub fire --msgs "$N" --size 128B --no-progress >"$tmp/$name.pub" 2>&1
  wait "$sub" || true
  local t; t=$(tail -1 "$tmp/$name.time")
  echo "$name $(cat "$tmp/$name.count") $t $(grep -o '[0-9,]* msgs/sec' "$tmp/$name.pub" | head -1)"
}

echo "# N=$N messages of 128 B; $(nproc) cores; nats-server $(nats-server --version | awk '{print $NF}'), natscli $("$NATS" --version), $(redis-cli -u "$REDIS_URL" INFO server | grep redis_version | tr -d '\r')"
PARTS=${PARTS:-firehose browse} # a subset: PARTS=firehose
if [[ $PARTS == *firehose* ]]; then
echo "# firehose: name received wall user sys publisher-rate"
firehose nats-sub   bash -c "timeout -s TERM $WAIT \"$NATS\" sub '>' --raw --count $N 2>/dev/null | wc -l"
firehose mqscope    bash -c "timeout -s TERM $WAIT $MQ --nats $URL --context nats-core tail '>' --count $N -o jsonl 2>$tmp/lost | wc -l"
echo "# mqscope said on stderr: $(grep -h "lost" "$tmp/lost" | tail -1)"
fi
[[ $PARTS == *browse* ]] || exit 0

echo "# browse: name wall user sys"
"$NATS" bench js pub async browse.x --stream browse --create --storage file --msgs "$N" --size 128B --no-progress >/dev/null 2>&1
echo "natscli-js   $(secs "$NATS" sub --stream browse --all --raw --count "$N")"
echo "mqscope-js   $(secs $MQ --nats "$URL" browse browse -o jsonl)"
awk -v n="$N" -v k="$KEY" 'BEGIN { p = sprintf("%0128d", 0); for (i = 0; i < n; i++) printf "XADD %s * data %s\r\n", k, p }' | redis-cli -u "$REDIS_URL" --pipe >/dev/null
echo "# redis stream $KEY: $(redis-cli -u "$REDIS_URL" XLEN "$KEY") entries"
echo "redis-cli    $(secs redis-cli -u "$REDIS_URL" XRANGE "$KEY" - +)"
echo "mqscope-redis $(secs $MQ --redis "$REDIS_URL" browse "$KEY" -o jsonl)"
