#!/usr/bin/env bash
# bench/web_api.sh: the web API over a store with 100,000 task instances
# (10,000 finished runs of a 10-task DAG, one try each):
#  - latency p50/p99 of the grid and runs endpoints for one client
#    (wrk, 1 connection, requests back to back), newest page and a page
#    5,000 runs deep (by cursor, and by offset for the runs list);
#  - requests/s of /api/v1/dags under load (wrk, 2 threads x 32
#    connections), beside a static file from the same server as the
#    reference for what the HTTP layer alone costs.
# Prints figures; never passes or fails on time.  wrk runs on the same
# machine as the server, so on 2 cores they share the CPU.
#
#   bench/web_api.sh [PATH/TO/sta] [TASK_INSTANCES] [SECONDS_PER_FIGURE]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
STA=${1:-$ROOT/build/release/sta}
N=${2:-100000}
D=${3:-5}
TASKS=10
RUNS=$((N / TASKS))
command -v wrk > /dev/null || { echo "bench/web_api.sh needs wrk (apt-get install wrk)" >&2; exit 69; }
W=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
	rm -rf "$W"
}
trap cleanup EXIT

mkdir -p "$W/dags"
{
	echo "dag_id: bench"
	echo "schedule: \"@daily\""
	echo "start_date: 2099-01-01"
	echo "tasks:"
	echo "  t0: {command: ['true']}"
	for ((i = 1; i < TASKS - 1; i++)); do echo "  t$i: {command: ['true'], depends_on: [t0]}"; done
	echo "  t$((TASKS - 1)): {command: ['true'], depends_on: [$(seq -s ', ' -f 't%g' 1 $((TASKS - 2)))]}"
} > "$W/dags/bench.yaml"

export STA_HOME="$W/home" STA_DAGS_FOLDER="$W/dags"
"$STA" dags list > /dev/null          # creates and migrates the store
sqlite3 "$STA_HOME/sta.db" <<SQL
PRAGMA synchronous=OFF;
BEGIN;
WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < $RUNS)
INSERT INTO dag_runs (dag_id, run_id, run_type, logical_date, data_interval_start,
    data_interval_end, state, created_ms, start_ms, end_ms)
SELECT 'bench', 'scheduled__' || n, 'scheduled', n * 86400, n * 86400, (n + 1) * 86400,
    CASE WHEN n % 97 = 0 THEN 'failed' ELSE 'success' END, n * 1000, n * 1000, n * 1000 + 500 FROM r;
WITH RECURSIVE t(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM t WHERE k < $TASKS - 1)
INSERT INTO task_instances (run_pk, task_id, state, try_number, max_tries, start_ms, end_ms)
SELECT r.id, 't' || t.k, CASE WHEN r.state = 'failed' AND t.k = 1 THEN 'failed'
    WHEN r.state = 'failed' AND t.k = $TASKS - 1 THEN 'upstream_failed' ELSE 'success' END,
    1, 1, r.start_ms, r.end_ms FROM dag_runs r, t;
INSERT INTO task_tries (ti_pk, try_number, state, executor, handle, hostname, log_path,
    start_ms, end_ms, exit_code)
SELECT id, 1, CASE state WHEN 'upstream_failed' THEN 'skipped' ELSE state END, 'local', '1234',
    'bench', '/nonexistent/' || id || '.log', start_ms, end_ms, 0 FROM task_instances;
COMMIT;
ANALYZE;
SQL
tis=$(sqlite3 "$STA_HOME/sta.db" "select count(*) from task_instances")

"$STA" web --bind 127.0.0.1:0 > "$W/web.out" 2> "$W/web.err" &
pid=$!
for _ in $(seq 100); do grep -q http:// "$W/web.out" 2>/dev/null && break; sleep 0.1; done
url=$(sed -n 's|^sta web: \(http://[^/]*\)/.*|\1|p' "$W/web.out")
deep=$(((RUNS / 2) * 86400))

# latency NAME PATH: one connection, requests back to back.
latency() {
	local out
	out=$(wrk -t1 -c1 -d"${D}s" --latency "$url$2")
	printf '%-34s %9s %9s %9s\n' "$1" \
		"$(awk '$1 == "50%" {print $2}' <<< "$out")" "$(awk '$1 == "99%" {print $2}' <<< "$out")" \
		"$(awk '/^Requests\/sec/ {print $2}' <<< "$out")"
}

# throughput NAME PATH: 2 threads x 32 connections.
throughput() {
	local out
	out=$(wrk -t2 -c32 -d"$((D * 2))s" --latency "$url$2")
	printf '%-34s %9s %9s %9s\n' "$1" "$(awk '/^Requests\/sec/ {print $2}' <<< "$out")" \
		"$(awk '$1 == "50%" {print $2}' <<< "$out")" "$(awk '$1 == "99%" {print $2}' <<< "$out")"
}

echo "store: $RUNS runs, $tis task instances; sta web on one loop; ${D} s per figure"
echo
printf '%-34s %9s %9s %9s\n' "one client" "p50" "p99" "req/s"
latency "grid, newest 25 runs" "/api/v1/dags/bench/grid?limit=25"
latency "grid, 25 runs 5,000 deep (cursor)" "/api/v1/dags/bench/grid?limit=25&cursor=$deep"
latency "runs, newest 25" "/api/v1/dags/bench/runs?limit=25"
latency "runs, 5,000 deep (cursor)" "/api/v1/dags/bench/runs?limit=25&cursor=$deep"
latency "runs, 5,000 deep (offset)" "/api/v1/dags/bench/runs?limit=25&offset=$((RUNS / 2))"
latency "/api/v1/dags" "/api/v1/dags"
latency "static file (reference)" "/static/style.css"
echo
printf '%-34s %9s %9s %9s\n' "2 threads x 32 connections" "req/s" "p50" "p99"
throughput "/api/v1/dags" "/api/v1/dags"
throughput "static file (reference)" "/static/style.css"
