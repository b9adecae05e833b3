#!/usr/bin/env bash
# bench/sched_history.sh: scheduling cost with 1,000,000 finished task
# instances (and their tries and audit rows) in the store versus an empty
# store, in one run: the same 2,000-task DAG through `sta dags test` on
# each.  The bar (issue 2): per-task overhead within 1.2x.
#
#   bench/sched_history.sh [PATH/TO/sta] [HISTORY_TASK_INSTANCES]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STA=${1:-$ROOT/build/release/sta}
H=${2:-1000000}
N=2000
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

mkdir -p "$W/dags"
{
	echo "dag_id: bench_hist"
	echo "max_active_tasks: 2"
	echo "tasks:"
	for ((i = 0; i < N; i++)); do
		echo "  t$i:"
		echo "    command: [/bin/true]"
		[ $((i % 10)) -gt 0 ] && echo "    depends_on: [t$((i - 1))]"
	done
} > "$W/dags/bench.yaml"

# Creates the schema through sta itself, then fills it with history
# straight through SQL: H/100 finished runs of 100 task instances each.
fill() {
	local home=$1
	STA_HOME="$home" "$STA" --dags-folder "$W/dags" dags list > /dev/null
	sqlite3 "$home/sta.db" <<SQL
PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < $H / 100)
INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date, data_interval_start,
    data_interval_end, state, created_ms, start_ms, end_ms)
SELECT 'history', 'scheduled__' || n, 'scheduled', n * 86400, n * 86400, (n + 1) * 86400,
    'success', n, n, n FROM r;
WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < 99)
INSERT INTO task_instances (run_pk, task_id, state, try_number, max_tries, next_try_at, start_ms, end_ms)
SELECT id, 'task_' || k, 'success', 1, 1, 0, 1, 2 FROM dag_runs, t WHERE dag_id = 'history';
INSERT INTO task_tries (ti_pk, try_number, state, executor, log_path, start_ms, end_ms, exit_code)
SELECT id, 1, 'success', 'local', '/dev/null', 1, 2, 0 FROM task_instances;
COMMIT;
SQL
}

run() { # run LABEL HOME
	local label=$1 home=$2 start end
	start=$(date +%s.%N)
	STA_HOME="$home" "$STA" --dags-folder "$W/dags" dags test bench_hist 2024-01-01 > "$W/out" 2>&1
	end=$(date +%s.%N)
	printf '%-34s %7.2fs  %6.3f ms per task\n' "$label" "$(echo "$end - $start" | bc)" \
		"$(echo "($end - $start) * 1000 / $N" | bc -l)"
}

echo "sta: $STA, DAG of $N /bin/true tasks, history $H task instances"
mkdir -p "$W/empty" "$W/full"
STA_HOME="$W/empty" "$STA" --dags-folder "$W/dags" dags list > /dev/null
fill "$W/full"
echo "history store: $(sqlite3 "$W/full/sta.db" 'select count(*) from task_instances') task instances, $(du -h "$W/full/sta.db" | cut -f1)"
run "empty store" "$W/empty"
run "store with history" "$W/full"
run "empty store (again)" "$W/empty"
run "store with history (again)" "$W/full"
