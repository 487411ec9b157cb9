#!/usr/bin/env bash
# Renders PNGs of the real console into screenshots/: the binary runs the
# embedded demo in tmux, is driven with send-keys to interesting states,
# captured with `tmux capture-pane -e -p` (ANSI escapes kept) and rendered by
# freeze (go run github.com/charmbracelet/freeze@v0.2.2).
#
# Needs tmux, and rsvg-convert (Debian: apt-get install -y librsvg2-bin):
# freeze's built-in PNG converter (resvg via wazero) crashes under Go 1.26,
# so freeze writes SVG and rsvg-convert turns it into PNG (with a system
# monospace font, which librsvg can use; it ignores the SVG's embedded web
# font). `make screenshots` builds bin/mqscope first.
set -euo pipefail
cd "$(dirname "$0")/.."

FREEZE="go run github.com/charmbracelet/freeze@v0.2.2"
OUT=screenshots
BIN=${MQSCOPE_BIN:-bin/mqscope}

need() { command -v "$1" >/dev/null 2>&1 || { echo "screenshots: $1 is required: $2" >&2; exit 1; }; }
need tmux "apt-get install -y tmux"
need rsvg-convert "apt-get install -y librsvg2-bin"
[ -x "$BIN" ] || go build -o "$BIN" .
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
mkdir -p "$OUT"

SOCK="mqscope-shots-$$"
WORK=$(mktemp -d)
T() { tmux -L "$SOCK" "$@"; }
cleanup() {
	T kill-server 2>/dev/null || true # SIGHUP: mqscope cleans the demo up
	sleep 1
	rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"
	rm -rf "$WORK"
}
trap cleanup EXIT

# start W H [args...]: run mqscope on the demo in a fresh tmux window.
start() {
	local w=$1 h=$2
	shift 2
	T kill-server 2>/dev/null || true
	sleep 0.5
	T -f /dev/null new-session -d -s shots -x "$w" -y "$h" \
		timeout --foreground -s TERM 600 env HOME="$WORK" XDG_CONFIG_HOME="$WORK/config" XDG_STATE_HOME="$WORK/state" \
		TERM=xterm-256color COLORTERM=truecolor MQSCOPE_DEMO_PREFIX="demo:" \
		"$BIN" --log-file "$WORK/mqscope.log" "$@"
}

# wait_for TEXT...: until every TEXT is on screen (30 s).
wait_for() {
	local i t ok
	for i in $(seq 1 150); do
		ok=1
		for t in "$@"; do
			T capture-pane -p -t shots | grep -qF -- "$t" || ok=0
		done
		[ $ok = 1 ] && return 0
		sleep 0.2
	done
	echo "screenshots: timed out waiting for: $*" >&2
	T capture-pane -p -t shots >&2
	exit 1
}

keys() {
	local k
	for k in "$@"; do
		T send-keys -t shots "$k"
		sleep 0.3
	done
}

# shot NAME: capture the pane with escapes and render it.
shot() {
	local ansi="$WORK/$1.ansi"
	T capture-pane -e -p -t shots >"$ansi"
	$FREEZE --language ansi --font.family "DejaVu Sans Mono" --font.size 14 \
		--window --padding 20 --margin 0 --background "#1e1e2e" \
		-o "$WORK/$1.svg" <"$ansi" >/dev/null
	rsvg-convert --zoom 1.5 -o "$OUT/$1.png" "$WORK/$1.svg"
	echo "screenshots: $OUT/$1.png"
}

# 1. Overview at 120x36: topics, the orders groups (stuck one first), live tail.
start 120 36
wait_for "demo-jetstream" "connected" "orders"
sleep 4 # a few refreshes, so rates are measured
keys g j Enter
wait_for "! billing" "fulfillment" "fraud-check"
sleep 3
shot overview

# 2. The stuck group's pending messages.
keys 2 g Enter
wait_for "Pending · orders/billing"
sleep 1
shot pending

# 3. A message in the inspector (pretty JSON, headers, metadata).
keys 3 g Enter
wait_for "PAYLOAD" "HEADERS"
shot inspector
keys Escape

# 4. The dead-letter queue with what failed and why.
keys 1 g j L
wait_for "DLQ · orders.dlq"
sleep 2
keys 3 g Enter
sleep 1
shot dlq
keys Escape

# 5. Full help.
keys '?'
wait_for "Help"
shot help
keys Escape

# 6. Redis Streams (when the local Redis answers): the stuck consumer's pending list.
if T capture-pane -p -t shots >/dev/null && redis-cli -n 15 ping >/dev/null 2>&1; then
	T send-keys -t shots -l ':ctx demo-redis'
	keys Enter
	wait_for "demo-redis" "redis_stream" "connected"
	sleep 3
	keys 1 g j Enter # topics are sorted: inventory, orders, orders.dlq
	wait_for "billing" "fraud-check"
	sleep 2
	keys 2 g Enter # the stuck group's pending entries: owner, 20 min idle
	wait_for "Pending · demo:orders/billing" "billing-1"
	sleep 1
	shot redis
fi

# 8. A group with its history: the stuck billing consumer's backlog and rates over the last 2
# minutes (a sample per refresh: the console has to run that long to have them).
start 120 36
wait_for "demo-jetstream" "connected" "orders"
keys g j Enter
wait_for "! billing"
sleep 100
keys 2 g h
wait_for "History · orders / billing" "basis:"
keys - - # 10m → 5m → 2m
wait_for "range (2m)"
shot history

# 7. 80x24: the layout degrades to one pane at a time.
start 80 24
wait_for "demo-jetstream" "connected" "orders"
sleep 3
keys g j Enter
wait_for "billing"
sleep 2
shot small-80x24

keys Escape
T send-keys -t shots -l ':q'
keys Enter
sleep 2
echo "screenshots: done"
