#!/usr/bin/env bash
# start.sh PORT DATADIR: starts the devnet and prints its RPC URL.
#
# Starts anvil (the npm package's binary, options from generate.mjs
# --anvil-args) on 127.0.0.1:PORT with its log in DATADIR/anvil.log and its
# pid in DATADIR/anvil.pid, compiles the contracts if they changed, runs the
# generator (DATADIR/record.json), writes the URL to DATADIR/url and prints
# it.  PORT 0 lets anvil pick a free port.  Fails, with anvil stopped, if
# anything goes wrong; stop it later with devnet/stop.sh DATADIR.
set -euo pipefail

die() { printf 'devnet/start.sh: %s\n' "$*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: start.sh PORT DATADIR"
port=$1
data=$2
case $port in '' | *[!0-9]*) die "PORT must be a number, not '$port'" ;; esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
anvil=$root/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
[ -x "$anvil" ] || die "$anvil is missing (npm ci)"
command -v node >/dev/null || die "node is not installed"

mkdir -p "$data"
data=$(cd "$data" && pwd)
if [ -f "$data/anvil.pid" ] && kill -0 "$(cat "$data/anvil.pid")" 2>/dev/null; then
	die "a devnet already runs from $data (pid $(cat "$data/anvil.pid")); stop it with devnet/stop.sh $data"
fi
rm -f "$data/anvil.pid" "$data/url" "$data/record.json"

# Compiled contracts go beside the sources unless that folder is read-only
# (a distribution tree), then into DATADIR.
build=$here/build
if ! mkdir -p "$build" 2>/dev/null || [ ! -w "$build" ]; then build=$data/build; fi
node "$here/compile.mjs" "$build"

mapfile -t args < <(node "$here/generate.mjs" --anvil-args)
[ "${#args[@]}" -gt 0 ] || die "generate.mjs --anvil-args printed nothing"
"$anvil" --host 127.0.0.1 --port "$port" "${args[@]}" >"$data/anvil.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$data/anvil.pid"

fail() {
	kill "$pid" 2>/dev/null || true
	rm -f "$data/anvil.pid"
	tail -5 "$data/anvil.log" >&2 || true
	die "$*"
}

# anvil prints "Listening on 127.0.0.1:PORT" once it accepts connections.
listen=
for _ in $(seq 100); do
	listen=$(sed -n 's/^Listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$data/anvil.log" 2>/dev/null || true)
	[ -n "$listen" ] && break
	kill -0 "$pid" 2>/dev/null || fail "anvil exited at start (log: $data/anvil.log)"
	sleep 0.1
done
[ -n "$listen" ] || fail "anvil did not listen within 10 s (log: $data/anvil.log)"
url=http://127.0.0.1:$listen

node "$here/generate.mjs" --rpc "$url" --out "$data/record.json" --build "$build" ||
	fail "the generator failed; anvil stopped"
echo "$url" >"$data/url"
echo "$url"
