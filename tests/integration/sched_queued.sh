#!/usr/bin/env bash
# sched_queued: tries handed ahead.  When a DAG has no free slot, the
# scheduler records the next tries as queued behind running ones, and the
# supervisor starts each the moment the try ahead of it ends.  Limits
# still hold; every queued try is recorded queued, then running; a queued
# try marked by hand is dropped without running; and one whose scheduler
# is killed is not started by the orphaned supervisor but given back its
# place by the next scheduler, and runs once, as the same try.  A try
# handed ahead behind a long one starts as soon as another slot frees.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

out="$T/out"
mkdir -p "$out"
# max_concurrency FILE: the most tasks running at once per "S/E ns" lines
max_concurrency() {
	sort -k2,2n "$1" | awk '$1 == "S" { n++; if (n > m) m = n } $1 == "E" { n-- } END { print m + 0 }'
}
{
	echo "dag_id: wide"
	echo "max_active_tasks: 2"
	echo "tasks:"
	for i in $(seq 1 12); do
		printf '  w%d:\n    command: [sh, -c, '"'"'echo "S $(date +%%s%%N)" >> %s; sleep 0.2; echo "E $(date +%%s%%N)" >> %s'"'"']\n' \
			"$i" "$out/wide" "$out/wide"
	done
} > "$STA_DAGS_FOLDER/wide.yaml"
"$STA" dags test wide 2024-01-01 > "$T/wide.log" 2>&1
is "a wide DAG with max_active_tasks: 2 succeeds" "$?" 0
is "  never running three at once" "$(max_concurrency "$out/wide")" 2
is "  every task ran once" "$(grep -c '^S' "$out/wide")" 12
queued=$(sql "select count(distinct task_id) from audit_log where action = 'ti_state' and detail = '{\"state\":\"queued\"}'")
check "  tasks were handed ahead (queued): $queued of 12" test "$queued" -ge 8
is "  each queued task went queued, running, success" \
	"$(sql "select distinct group_concat(json_extract(detail, '$.state'), ' ') from (select task_id, detail from audit_log where action = 'ti_state' and task_id in (select task_id from audit_log where detail = '{\"state\":\"queued\"}') order by id) group by task_id")" \
	"scheduled queued running success"
is "  and its try was recorded running, with its start" \
	"$(sql "select count(*) from task_tries where state != 'success' or start_ms = 0 or end_ms < start_ms")" 0

# a long task beside short ones: tries handed ahead behind the long one
# start in the other slot as soon as it frees, not after the long one
{
	echo "dag_id: mixed"
	echo "max_active_tasks: 2"
	echo "tasks:"
	printf '  long:\n    command: [sh, -c, '"'"'sleep 3; echo "L $(date +%%s%%N)" >> %s'"'"']\n    priority_weight: 10\n' "$out/mixed"
	for i in $(seq 1 6); do
		printf '  q%d:\n    command: [sh, -c, '"'"'sleep 0.2; echo "Q $(date +%%s%%N)" >> %s'"'"']\n' "$i" "$out/mixed"
	done
} > "$STA_DAGS_FOLDER/mixed.yaml"
"$STA" dags test mixed 2024-01-01 > "$T/mixed.log" 2>&1
is "a long task beside six short ones succeeds" "$?" 0
is "  the short ones all end before the long one" \
	"$(sort -k2,2n "$out/mixed" | awk '{ printf "%s", $1 }')" QQQQQQL
check "  some were handed ahead behind the long one and released" \
	test "$(sql "select count(*) from audit_log where dag_id = 'mixed' and detail = '{\"state\":\"queued\"}'")" -ge 3

# one slot: `first` runs 2 s, `second` waits queued behind it
dag one <<EOF
dag_id: one
max_active_tasks: 1
tasks:
  first:
    command: [sh, -c, 'sleep 2; echo first >> $out/one']
  second:
    command: [sh, -c, 'echo second >> $out/one']
    priority_weight: 0
EOF
state() { sql "select ti.state from task_instances ti join dag_runs r on r.id = ti.run_pk where r.dag_id = '$1' and r.run_id = '$2' and ti.task_id = '$3'"; }
queued_now() { [ "$(state one "$1" second)" = queued ] && [ "$(state one "$1" first)" = running ]; }

# marked by hand while queued: dropped, never run
"$STA" dags trigger one --run-id m > /dev/null
"$STA" scheduler --exit-when-idle > "$T/m.log" 2>&1 &
pid=$!
t_pids+=("$pid")
check "second waits queued behind first" wait_for 20 queued_now m
"$STA" tasks mark one second m success > /dev/null
wait "$pid"
is "  marking it success leaves it so" "$(state one m second)" success
is "  and it never ran" "$(cat "$out/one")" first
is "  its try is recorded as stopped before it started" \
	"$(sql "select t.reason from task_tries t join task_instances ti on ti.id = t.ti_pk join dag_runs r on r.id = ti.run_pk where r.run_id = 'm' and ti.task_id = 'second'")" \
	"stopped on request before it started"
rm -f "$out/one"

# the scheduler killed while a try is queued
"$STA" dags trigger one --run-id k > /dev/null
"$STA" scheduler > "$T/k1.log" 2>&1 &
pid=$!
t_pids+=("$pid")
check "second queued again" wait_for 20 queued_now k
kill -9 "$pid"
wait "$pid" 2>/dev/null
sleep 2.5       # first ends under the orphaned supervisor
is "the orphaned supervisor did not start the queued try" "$(cat "$out/one")" first
"$STA" scheduler --exit-when-idle > "$T/k2.log" 2>&1
is "a restarted scheduler finishes the run" "$(sql "select state from dag_runs where run_id = 'k'")" success
is "  second ran once" "$(cat "$out/one" | tr '\n' ' ')" "first second "
is "  as try 1, its one try" \
	"$(sql "select group_concat(t.try_number || ':' || t.state) from task_tries t join task_instances ti on ti.id = t.ti_pk join dag_runs r on r.id = ti.run_pk where r.run_id = 'k' and ti.task_id = 'second'")" \
	"1:success"
is "  given back its place with the reason recorded" \
	"$(sql "select count(*) from audit_log where run_id = 'k' and task_id = 'second' and detail like '%never started%'")" 1
done_testing
