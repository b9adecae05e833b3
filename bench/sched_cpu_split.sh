#!/usr/bin/env bash
# bench/sched_cpu_split.sh: whose CPU a wide graph of no-op tasks costs.
# Runs N /bin/true (default 10,000, max_active_tasks 2) through `sta dags
# test` and the same graph through `make -j2`, and prints each process's
# own CPU per task (perf stat --no-inherit, from when it attaches, a few ms
# after the start, so the tasks' exec and run are not counted): sta's
# scheduler and its supervisors (one per slot: the first, a child of the
# scheduler, forks the others) against make itself.
#
#   bench/sched_cpu_split.sh [PATH/TO/sta] [N]
# Needs perf (Debian: linux-perf).  The state goes under $TMPDIR.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STA=$(readlink -f "${1:-$ROOT/build/release/sta}")
N=${2:-10000}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
command -v perf > /dev/null || { echo "perf is missing (apt-get install linux-perf)"; exit 1; }

mkdir -p "$W/dags"
{
	echo "dag_id: split"
	echo "max_active_tasks: 2"
	echo "tasks:"
	for ((i = 0; i < N; i++)); do printf '  t%d:\n    command: [/bin/true]\n' "$i"; done
} > "$W/dags/split.yaml"
{
	printf 'all:'
	for ((i = 0; i < N; i++)); do printf ' t%d' "$i"; done
	printf '\n'
	for ((i = 0; i < N; i++)); do printf 't%d:\n\t@/bin/true\n' "$i"; done
} > "$W/split.mk"

# own_cpu PID...: "comm-pid msec" per process, from perf stat without inherit
own_cpu() {
	local pids
	pids=$(IFS=,; echo "$*")
	perf stat --no-inherit -e task-clock --per-thread -p "$pids" 2>&1 |
		awk '/task-clock/ { print $1, $2 }' | tr -d ,
}

per_task() { # per_task LABEL MSEC
	printf '%-16s %8.1f ms own CPU  %6.1f us per task\n' "$1" "$2" "$(echo "$2 * 1000 / $N" | bc -l)"
}

echo "N=$N, $(nproc) cores, state on $(df -T "$W" | awk 'NR == 2 { print $2 }')"
env STA_HOME="$W/home" "$STA" --dags-folder "$W/dags" dags test split 2024-01-01 > "$W/sta.out" 2>&1 &
sta_pid=$!
sup_pid=
for _ in $(seq 200); do
	sup_pid=$(pgrep -P "$sta_pid" -x sta-supervisor || true)
	[ -n "$sup_pid" ] && break
	sleep 0.01
done
[ -n "$sup_pid" ] || { echo "no supervisor appeared"; exit 1; }
others=
for _ in $(seq 200); do
	others=$(pgrep -d, -P "$sup_pid" -x sta-supervisor || true)
	[ -n "$others" ] && break
	sleep 0.01
done
sups=("$sup_pid" ${others//,/ })
own_cpu "$sta_pid" "${sups[@]}" > "$W/sta.cpu"
wait "$sta_pid"
per_task "sta scheduler" "$(awk -v p="-$sta_pid\$" '$1 ~ p { print $2 }' "$W/sta.cpu")"
per_task "sta supervisors (${#sups[@]})" \
	"$(awk -v p="-$sta_pid\$" '$1 !~ p { s += $2 } END { print s }' "$W/sta.cpu")"

make -s -j2 -f "$W/split.mk" > /dev/null &
make_pid=$!
own_cpu "$make_pid" > "$W/make.cpu"
wait "$make_pid"
per_task "make -j2" "$(awk '{ print $2 }' "$W/make.cpu")"
