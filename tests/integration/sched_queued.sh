#!/usr/bin/env bash
# sched_queued: tries handed ahead.  When a DAG has no free slot, the
# scheduler records the next tries as queued behind running ones, and the
# supervisor starts each the moment the try ahead of it ends.  Limits
# still hold; every queued try is recorded queued, then running; a queued
# try marked by hand is dropped without running; and one whose scheduler
# is killed is not started by the orphaned supervisor but given back its
# place by the next scheduler, and runs once, as the same try.  A try
# handed ahead behind a long one starts as soon as another slot frees.  In
# a chain, each task is handed ahead behind its upstream task and starts
# after that one's success, never before; one whose upstream task fails
# is dropped without running, and its trigger rule decides it.  Once the
# first tries are handed ahead, more are handed ahead when a queue runs
# low (one waiting), several at once.
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

# a chain: each task is handed ahead behind its upstream task while that
# one runs, and starts only once it has succeeded
cat > "$T/step.sh" <<EOF
#!/bin/sh
# step.sh FILE SECONDS [STATUS]: logs the task's start and end to FILE
echo "S \$STA_TASK_ID \$(date +%s%N)" >> "\$1"
sleep "\$2"
echo "E \$STA_TASK_ID \$(date +%s%N)" >> "\$1"
exit "\${3:-0}"
EOF
chmod +x "$T/step.sh"
# order FILE: the starts and ends in time order, as "Sa Ea Sb ..."
order() { sort -k3,3n "$1" | awk '{ printf "%s%s%s", sep, $1, $2; sep = " " }'; }
# states DAG TASK: the task's states in the audit log, in order
states() { sql "select group_concat(s, ' ') from (select json_extract(detail, '$.state') s from audit_log where action = 'ti_state' and dag_id = '$1' and task_id = '$2' order by id)"; }
dag chain <<EOF
dag_id: chain
max_active_tasks: 2
tasks:
  a: {command: [$T/step.sh, $out/chain, "0.3"]}
  b: {command: [$T/step.sh, $out/chain, "0.3"], depends_on: [a]}
  c: {command: [$T/step.sh, $out/chain, "0.3"], depends_on: [b]}
  d: {command: [$T/step.sh, $out/chain, "0.3"], depends_on: [c]}
EOF
"$STA" dags test chain 2024-01-01 > "$T/chain.log" 2>&1
is "a chain of four succeeds" "$?" 0
is "  each task starts after its upstream task ended" "$(order "$out/chain")" \
	"Sa Ea Sb Eb Sc Ec Sd Ed"
is "  b, c and d were handed ahead: queued, running, success" \
	"$(states chain b); $(states chain c); $(states chain d)" \
	"queued running success; queued running success; queued running success"

# b fails: c, handed ahead behind it, is dropped without running and
# decided by its trigger rule; e (all_done) runs
dag chainfail <<EOF
dag_id: chainfail
max_active_tasks: 2
tasks:
  a: {command: [$T/step.sh, $out/chainfail, "0.3"]}
  b: {command: [$T/step.sh, $out/chainfail, "0.3", "3"], depends_on: [a]}
  c: {command: [$T/step.sh, $out/chainfail, "0"], depends_on: [b]}
  d: {command: [$T/step.sh, $out/chainfail, "0"], depends_on: [c]}
  e: {command: [$T/step.sh, $out/chainfail, "0"], depends_on: [b], trigger_rule: all_done}
EOF
"$STA" dags test chainfail 2024-01-01 > "$T/chainfail.log" 2>&1
is "a chain whose second task fails fails" "$?" 1
is "  the task handed ahead behind the failed one never ran" "$(order "$out/chainfail")" \
	"Sa Ea Sb Eb Se Ee"
is "  it was queued, dropped, then upstream_failed" "$(states chainfail c)" \
	"queued none upstream_failed"
is "  with the reason recorded" \
	"$(sql "select json_extract(detail, '$.reason') from audit_log where dag_id = 'chainfail' and task_id = 'c' and json_extract(detail, '$.state') = 'none'")" \
	"handed ahead, not started: the task it followed did not succeed"
is "  and no try of it is left" \
	"$(sql "select count(*) from task_tries t join task_instances ti on ti.id = t.ti_pk join dag_runs r on r.id = ti.run_pk where r.dag_id = 'chainfail' and ti.task_id = 'c'")" 0
is "  the one handed ahead behind that one too; the all_done one: success" \
	"$(states chainfail d); $(states chainfail e)" \
	"queued none upstream_failed; scheduled running success"

# b fails once, then succeeds on its retry: c runs once, after that
dag chainretry <<EOF
dag_id: chainretry
max_active_tasks: 2
tasks:
  a: {command: [$T/step.sh, $out/chainretry, "0.3"]}
  b:
    command: [sh, -c, 'if [ -e $out/retried ]; then $T/step.sh $out/chainretry 0.3; else touch $out/retried; $T/step.sh $out/chainretry 0.3 3; fi']
    depends_on: [a]
    retries: 1
    retry_delay: 1s
  c: {command: [$T/step.sh, $out/chainretry, "0"], depends_on: [b]}
EOF
"$STA" dags test chainretry 2024-01-01 > "$T/chainretry.log" 2>&1
is "a chain whose second task succeeds on its retry succeeds" "$?" 0
is "  the third ran once, after the retry" "$(order "$out/chainretry")" "Sa Ea Sb Eb Sb Eb Sc Ec"
is "  as try 1" "$(sql "select max(try_number) from task_instances ti join dag_runs r on r.id = ti.run_pk where r.dag_id = 'chainretry' and ti.task_id = 'c'")" 1

# a task that reads a variable is not handed ahead behind its upstream
# task, which may set it: it is rendered once ready, with the value set
dag varchain <<EOF
dag_id: varchain
tasks:
  set: {command: [sta, variables, set, greeting, from-upstream]}
  use: {command: [sh, -c, 'echo "{{ var.value.greeting }}" > $out/greeting'], depends_on: [set]}
EOF
"$STA" variables set greeting before
"$STA" dags test varchain 2024-01-01 > "$T/varchain.log" 2>&1
is "a task reading a variable its upstream task sets succeeds" "$?" 0
is "  it sees the value set" "$(cat "$out/greeting")" from-upstream
is "  it was not handed ahead" "$(states varchain use)" "scheduled running success"

# the upstream task cannot even start (its command is over the 1 MiB a
# try may take): the task handed ahead behind it never runs
{
	echo "dag_id: nostart"
	echo "tasks:"
	printf '  big: {command: [echo, "%s"]}\n' "$(head -c 1100000 /dev/zero | tr '\0' x)"
	echo "  after: {command: [touch, $out/after_ran], depends_on: [big]}"
} > "$STA_DAGS_FOLDER/nostart.yaml"
"$STA" dags test nostart 2024-01-01 > "$T/nostart.log" 2>&1
is "a chain whose first task cannot start fails" "$?" 1
check "  the second never ran" test ! -e "$out/after_ran"
is "  it is upstream_failed" "$(sql "select state from task_instances where task_id = 'after'")" upstream_failed

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
queued_now() { [ "$(state "${2:-one}" "$1" second)" = queued ] && [ "$(state "${2:-one}" "$1" first)" = running ]; }

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

# the scheduler killed while a try is queued: in `one`, second waits for
# a slot; in `pair`, for first's success (its upstream task)
dag pair <<EOF
dag_id: pair
tasks:
  first:
    command: [sh, -c, 'sleep 2; echo first >> $out/one']
  second:
    command: [sh, -c, 'echo second >> $out/one']
    depends_on: [first]
EOF
for d in one pair; do
	rm -f "$out/one"
	"$STA" dags trigger "$d" --run-id k > /dev/null
	"$STA" scheduler > "$T/k1.log" 2>&1 &
	pid=$!
	t_pids+=("$pid")
	check "$d: second queued behind first" wait_for 20 queued_now k "$d"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	sleep 2.5       # first ends under the orphaned supervisor
	is "  the orphaned supervisor did not start the queued try" "$(cat "$out/one")" first
	"$STA" scheduler --exit-when-idle > "$T/k2.log" 2>&1
	run_k="select id from dag_runs where dag_id = '$d' and run_id = 'k'"
	is "  a restarted scheduler finishes the run" "$(sql "select state from dag_runs where id = ($run_k)")" success
	is "  second ran once" "$(tr '\n' ' ' < "$out/one")" "first second "
	is "  as try 1, its one try" \
		"$(sql "select group_concat(t.try_number || ':' || t.state) from task_tries t join task_instances ti on ti.id = t.ti_pk where ti.run_pk = ($run_k) and ti.task_id = 'second'")" \
		"1:success"
	is "  given back its place with the reason recorded" \
		"$(sql "select count(*) from audit_log where dag_id = '$d' and run_id = 'k' and task_id = 'second' and detail like '%never started%'")" 1
done

# one slot, nine tasks: t2-t5 queued behind t1; when t3 ends only t5
# waits, and t6-t8 are handed ahead together, each behind the one before
{
	echo "dag_id: refill"
	echo "max_active_tasks: 1"
	echo "tasks:"
	for i in $(seq 1 9); do
		printf '  t%d:
    command: [sleep, "0.3"]
' "$i"
	done
} > "$STA_DAGS_FOLDER/refill.yaml"
"$STA" dags test refill 2024-01-01 > "$T/refill.log" 2>&1
is "refill: the run succeeds" "$?" 0
# queued_at TASK / ended_at TASK: when its try was handed ahead / ended (ms)
queued_at() { sql "select ts_ms from audit_log where dag_id = 'refill' and task_id = '$1' and detail like '%\"queued\"%'"; }
ended_at() { sql "select ts_ms from audit_log where dag_id = 'refill' and task_id = '$1' and detail like '%\"success\"%'"; }
check "refill: t6, t7 and t8 handed ahead together (within 100 ms), not one per end (300 ms apart)" \
	test $(( $(queued_at t8) - $(queued_at t6) )) -lt 100
check "refill: when t3 ended, with one try left waiting" \
	test $(( $(queued_at t6) - $(ended_at t3) )) -lt 100 -a $(( $(queued_at t6) - $(ended_at t3) )) -gt -100
is "refill: no task ran twice" "$(sql "select count(*) from task_tries t join task_instances i on i.id = t.ti_pk join dag_runs r on r.id = i.run_pk where r.dag_id = 'refill'")" 9
done_testing
