#!/bin/sh
# End-to-end test: the real binary in tmux (80x24, TERM=xterm-256color and
# NO_COLOR), driven with send-keys and asserted on capture-pane.
# Needs tmux (apt-get install -y tmux) and a Redis on 127.0.0.1:6379 (or
# MQSCOPE_TEST_REDIS_URL); `make e2e` builds bin/mqscope first.
set -eu
cd "$(dirname "$0")/.."
command -v tmux >/dev/null 2>&1 || { echo "e2e: tmux is required: apt-get install -y tmux" >&2; exit 1; }
if [ -x bin/mqscope ]; then
	MQSCOPE_E2E_BIN=bin/mqscope
	export MQSCOPE_E2E_BIN
fi
exec go test -count=1 -run 'TestE2E' -v "$@" .
