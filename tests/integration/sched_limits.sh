#!/usr/bin/env bash
# sched_limits: pools bound concurrency by their slots, max_active_tasks
# bounds a DAG's running tasks, and among ready tasks the higher
# priority_weight starts first.  Concurrency is measured from the start
# and end times the tasks themselves log.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

out="$T/out"
mkdir -p "$out"
# max_concurrency FILE: the most tasks running at once per "S/E ns" lines
max_concurrency() {
	sort -k2,2n "$1" | awk '$1 == "S" { n++; if (n > m) m = n } $1 == "E" { n-- } END { print m + 0 }'
}
task() { # task NAME FILE: a task that logs its start and end around a pause
	printf '  %s:\n    command: [sh, -c, '"'"'echo "S $(date +%%s%%N)" >> %s; sleep 0.3; echo "E $(date +%%s%%N)" >> %s'"'"']\n' \
		"$1" "$2" "$2"
}

{
	echo "dag_id: pooled"
	echo "default_args: {pool: narrow}"
	echo "tasks:"
	for i in 1 2 3 4 5; do task "p$i" "$out/pool"; done
} > "$STA_DAGS_FOLDER/pooled.yaml"
{
	echo "dag_id: capped"
	echo "max_active_tasks: 2"
	echo "tasks:"
	for i in 1 2 3 4 5 6; do task "c$i" "$out/cap"; done
} > "$STA_DAGS_FOLDER/capped.yaml"
{
	echo "dag_id: free"
	echo "tasks:"
	for i in 1 2 3 4; do task "f$i" "$out/free"; done
} > "$STA_DAGS_FOLDER/free.yaml"
dag ranked <<EOF
dag_id: ranked
max_active_tasks: 1
tasks:
  low:
    command: [sh, -c, 'echo low >> $out/rank']
    priority_weight: 1
  high:
    command: [sh, -c, 'echo high >> $out/rank']
    priority_weight: 10
  mid:
    command: [sh, -c, 'echo mid >> $out/rank']
    priority_weight: 5
EOF

"$STA" pools set narrow 1 "one at a time" > /dev/null
is "pools set creates the pool" "$(sql "select slots from pools where name='narrow'")" 1
"$STA" dags test pooled 2024-01-01 > "$T/log" 2>&1
is "the pooled DAG succeeds" "$?" 0
is "a 1-slot pool runs its tasks one at a time" "$(max_concurrency "$out/pool")" 1
"$STA" dags test capped 2024-01-01 > "$T/log" 2>&1
is "max_active_tasks: 2 never runs three at once" "$(max_concurrency "$out/cap")" 2
"$STA" dags test free 2024-01-01 > "$T/log" 2>&1
c=$(max_concurrency "$out/free")
check "without limits the tasks overlap (so the measure sees concurrency): $c" test "$c" -ge 3
"$STA" dags test ranked 2024-01-01 > "$T/log" 2>&1
is "higher priority_weight starts first" "$(tr '\n' ' ' < "$out/rank")" "high mid low "
done_testing
