#!/usr/bin/env bash
# sched_dag_change: the DAG file changes while a run is going.  The run in
# flight finishes with the version it started with (its tasks, their
# commands); runs created afterwards use the new version; a file that
# becomes invalid stops new runs, is reported, and lets the running run
# finish.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

out="$T/out"
mkdir -p "$out"
dag change <<EOF
dag_id: change
tasks:
  first:
    command: [sh, -c, 'while [ ! -e $out/go ]; do sleep 0.1; done; echo first-v1 >> $out/log']
  second:
    command: [sh, -c, 'echo second-v1 >> $out/log']
    depends_on: [first]
  third:
    command: [sh, -c, 'echo third-v1 >> $out/log']
    depends_on: [second]
EOF

"$STA" dags trigger change --run-id r1 >/dev/null
"$STA" scheduler --rescan-seconds 1 > "$T/sched.log" 2>&1 &
t_pids+=($!)
wait_for 20 test "$(sql "select state from task_instances where task_id = 'first'")" = running
check "the first run's first task is running" test "$(sql "select state from task_instances where task_id = 'first'")" = running

# Version 2: second's command changes, third goes, fourth arrives.
dag change <<EOF
dag_id: change
tasks:
  first:
    command: [sh, -c, 'echo first-v2 >> $out/log']
  second:
    command: [sh, -c, 'echo second-v2 >> $out/log']
    depends_on: [first]
  fourth:
    command: [sh, -c, 'echo fourth-v2 >> $out/log']
    depends_on: [second]
EOF
wait_for 20 grep -q "file changed" "$T/sched.log"
check "the scheduler notices the new version" grep -q "DAG change: file changed" "$T/sched.log"
touch "$out/go"
wait_for 30 test "$(sql "select state from dag_runs where run_id = 'r1'")" = success
is "the run in flight finishes with its own version" "$(cat "$out/log" | tr '\n' ' ')" \
	"first-v1 second-v1 third-v1 "
is "... and its own task list" \
	"$(sql "select group_concat(task_id, ' ') from (select task_id from task_instances ti join dag_runs r on r.id = ti.run_pk where r.run_id = 'r1' order by task_id)")" \
	"first second third"

: > "$out/log"
"$STA" dags trigger change --run-id r2 >/dev/null
wait_for 30 test "$(sql "select state from dag_runs where run_id = 'r2'")" = success
is "a run created afterwards uses the new version" "$(cat "$out/log" | tr '\n' ' ')" \
	"first-v2 second-v2 fourth-v2 "

# An invalid version: reported, no new runs, the running one finishes.
: > "$out/log"
rm -f "$out/go"
dag change <<EOF
dag_id: change
tasks:
  first:
    command: [sh, -c, 'while [ ! -e $out/go ]; do sleep 0.1; done; echo first-v2b >> $out/log']
EOF
wait_for 20 test "$(grep -c "DAG change: file changed" "$T/sched.log")" -ge 2
"$STA" dags trigger change --run-id r3 >/dev/null
wait_for 20 test "$(sql "select ti.state from task_instances ti join dag_runs r on r.id = ti.run_pk where r.run_id = 'r3'")" = running
dag change <<EOF
dag_id: change
tasks:
  first:
    command: [sh, -c, 'true']
    depends_on: [nowhere]
EOF
wait_for 20 grep -q "nowhere" "$T/sched.log"
check "the broken file is reported with its position" grep -q "change.yaml:[0-9]*:[0-9]*:.*nowhere" "$T/sched.log"
"$STA" dags trigger change --run-id r4 > "$T/trigger.out" 2>&1
is "a broken DAG cannot be triggered" "$?" 65
touch "$out/go"
wait_for 30 test "$(sql "select state from dag_runs where run_id = 'r3'")" = success
is "the run started before the file broke still finishes" "$(cat "$out/log")" "first-v2b"
is "no run was created from the broken file" "$(sql "select count(*) from dag_runs where run_id = 'r4'")" 0
done_testing
