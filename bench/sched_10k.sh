#!/usr/bin/env bash
# bench/sched_10k.sh: 10,000 no-op tasks (/bin/true) through `sta dags
# test`, beside `make -j2` running the same graph, in one run.  Two
# shapes: wide (10,000 independent tasks) and deep (a chain of 10,000).
# Prints wall time, CPU time and peak RSS for each, and for `sta dags
# validate` of the same file (loading the DAG alone); sta keeps every
# state change durable in SQLite (synced to the disk within 10 ms, group
# commit; STA_DB_SYNC=full syncs each commit) while make keeps nothing.
#
#   bench/sched_10k.sh [PATH/TO/sta] [N]
# Build first (./dev build); the default binary is build/release/sta.
# ROUNDS=K repeats make and sta K times per shape, each sta run right
# after its own make (a VM's speed drifts within minutes), and prints the
# median of the K ratios; SHAPES="wide" (or "deep") measures one shape;
# J=3 runs both at another parallelism (max_active_tasks 3, make -j3; the
# default is 2).
# The state (store, logs) goes under $TMPDIR: its file system weighs a
# lot (every try creates two files, its log and its status file, and is
# recorded in the store).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STA=${1:-$ROOT/build/release/sta}
N=${2:-10000}
ROUNDS=${ROUNDS:-1}
SHAPES=${SHAPES:-wide deep}
J=${J:-2}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

gen() { # gen SHAPE: writes $W/SHAPE.yaml and $W/SHAPE.mk
	local shape=$1 i
	{
		echo "dag_id: bench_$shape"
		echo "max_active_tasks: $J"
		echo "tasks:"
		for ((i = 0; i < N; i++)); do
			echo "  t$i:"
			echo "    command: [/bin/true]"
			if [ "$shape" = deep ] && [ "$i" -gt 0 ]; then
				echo "    depends_on: [t$((i - 1))]"
			fi
		done
	} > "$W/dags_$shape.yaml"
	{
		printf 'all:'
		for ((i = 0; i < N; i++)); do printf ' t%d' "$i"; done
		printf '\n.PHONY: all'
		for ((i = 0; i < N; i++)); do printf ' t%d' "$i"; done
		printf '\n'
		for ((i = 0; i < N; i++)); do
			if [ "$shape" = deep ] && [ "$i" -gt 0 ]; then
				printf 't%d: t%d\n\t@/bin/true\n' "$i" "$((i - 1))"
			else
				printf 't%d:\n\t@/bin/true\n' "$i"
			fi
		done
	} > "$W/$shape.mk"
}

# measure LABEL CMD...: prints "LABEL wall_s cpu_s maxrss_MB"; the wall
# time stays in $wall
measure() {
	local label=$1 user sys rss; shift
	/usr/bin/time -f "%e %U %S %M" -o "$W/time" "$@" > "$W/out" 2>&1 || {
		echo "$label: failed"; tail -5 "$W/out"; return 1; }
	read -r wall user sys rss < "$W/time"
	printf '%-26s wall %7.2fs  cpu %7.2fs  peak RSS %6.1f MB\n' "$label" "$wall" \
		"$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)"
}

echo "sta: $STA ($("$STA" --version)), N=$N, $(nproc) cores, state on $(df -T "$W" | awk 'NR == 2 { print $2 " (" $1 ")" }')"
for shape in $SHAPES; do
	gen "$shape"
	mkdir -p "$W/dags/$shape"
	mv "$W/dags_$shape.yaml" "$W/dags/$shape/bench.yaml"
	measure "sta dags validate ($shape)" "$STA" --dags-folder "$W/dags/$shape" dags validate
	ratios=()
	for ((r = 0; r < ROUNDS; r++)); do
		measure "make -j$J ($shape)" make -s -j"$J" -f "$W/$shape.mk"
		make_wall=$wall
		rm -rf "$W/home_$shape"
		measure "sta dags test ($shape)" env STA_HOME="$W/home_$shape" \
			"$STA" --dags-folder "$W/dags/$shape" dags test "bench_$shape" 2024-01-01
		ratios+=("$(echo "scale=3; $wall / $make_wall" | bc)")
	done
	echo "  store: $(sqlite3 "$W/home_$shape/sta.db" \
		"select count(*) || ' task instances, ' || (select count(*) from task_tries) || ' tries, ' || (select count(*) from audit_log) || ' audit rows' from task_instances")"
	if [ "$ROUNDS" -gt 1 ]; then
		sorted=$(printf '%s\n' "${ratios[@]}" | sort -n | tr '\n' ' ')
		echo "  sta/make ($shape), $ROUNDS rounds: $sorted(median $(printf '%s\n' "${ratios[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p"))"
	fi
done
