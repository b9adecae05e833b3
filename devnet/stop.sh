#!/usr/bin/env bash
# stop.sh DATADIR: stops the devnet that start.sh started with DATADIR.
# Quiet success when none runs; the record and log stay.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: stop.sh DATADIR" >&2; exit 1; }
pidfile=$1/anvil.pid
[ -f "$pidfile" ] || exit 0
pid=$(cat "$pidfile")
# Only signal the process if it is still our anvil (pids are reused).
if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q anvil; then
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid" 2>/dev/null || true; fi
fi
rm -f "$pidfile" "$1/url"
