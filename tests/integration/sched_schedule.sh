#!/usr/bin/env bash
# sched_schedule: catchup creates exactly the expected runs (and none when
# paused, the latest only without catchup), backfill of a date range, clear
# of a task and its downstream, trigger with conf.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

out="$T/out"
mkdir -p "$out"
d5=$(date -u -d '5 days ago' +%F)
expect=$(for i in 5 4 3 2 1; do date -u -d "$i days ago" +%F; done | tr '\n' ' ')

dag daily <<EOF
dag_id: daily
schedule: "@daily"
start_date: $d5
max_active_runs: 2
tasks:
  work:
    command: [sh, -c, 'echo {{ ds }} {{ data_interval_end }} >> $out/daily']
EOF
dag nocatch <<EOF
dag_id: nocatch
schedule: "@daily"
start_date: $d5
catchup: false
tasks:
  work:
    command: [sh, -c, 'echo {{ ds }} >> $out/nocatch']
EOF
dag paused <<EOF
dag_id: paused
schedule: "@daily"
start_date: $d5
tasks:
  work:
    command: [sh, -c, 'echo {{ ds }} >> $out/paused']
EOF
"$STA" dags pause paused > /dev/null
is "dags pause records the flag" "$(sql "select is_paused from dags where dag_id='paused'")" 1

timeout 120 "$STA" scheduler --exit-when-idle > "$T/sched.log" 2>&1
is "scheduler --exit-when-idle exits 0 once caught up" "$?" 0
is "catchup ran one run per missed day, oldest first" \
	"$(cut -d' ' -f1 "$out/daily" | sort | tr '\n' ' ')" "$expect"
is "each run's data_interval_end is the next day" \
	"$(awk '{ split($2, t, "T"); print t[1] }' "$out/daily" | sort | tr '\n' ' ')" \
	"$(for i in 4 3 2 1 0; do date -u -d "$i days ago" +%F; done | tr '\n' ' ')"
is "the store holds exactly those runs, all success" \
	"$(sql "select count(*), min(state), max(state) from dag_runs where dag_id='daily'")" "5|success|success"
is "run ids follow Airflow's scheduled__<logical date>" \
	"$(sql "select run_id from dag_runs where dag_id='daily' order by logical_date limit 1")" \
	"scheduled__${d5}T00:00:00+00:00"
is "catchup: false ran only the latest interval" "$(cat "$out/nocatch")" "$(date -u -d '1 day ago' +%F)"
check "a paused DAG got no runs" test ! -e "$out/paused"
overlap=$(sql "select count(*) from dag_runs a join dag_runs b on a.dag_id=b.dag_id and a.id<b.id join dag_runs c on c.dag_id=a.dag_id and b.id<c.id where a.dag_id='daily' and max(a.start_ms,b.start_ms,c.start_ms) < min(a.end_ms,b.end_ms,c.end_ms)")
is "max_active_runs 2: never three runs at once" "$overlap" 0

timeout 60 "$STA" scheduler --exit-when-idle > /dev/null 2>&1
is "a second scheduler pass creates nothing new" "$(sql "select count(*) from dag_runs where dag_id='daily'")" 5

"$STA" dags unpause paused > /dev/null
timeout 60 "$STA" scheduler --exit-when-idle > /dev/null 2>&1
is "after unpause the paused DAG catches up" "$(wc -l < "$out/paused" | tr -d ' ')" 5

# backfill: a manual range in the foreground
dag bf <<EOF
dag_id: bf
schedule: "@daily"
start_date: 2024-01-01
end_date: 2024-01-03
catchup: false
tasks:
  first:
    command: [sh, -c, 'echo first {{ ds }} >> $out/bf']
  second:
    command: [sh, -c, 'echo second {{ ds }} >> $out/bf']
    depends_on: [first]
EOF
"$STA" dags pause bf > /dev/null
"$STA" dags backfill bf -s 2024-01-01 -e 2024-01-03 > "$T/bf.out" 2> "$T/bf.err"
is "backfill of a paused DAG runs (as Airflow's) and exits 0" "$?" 0
is "backfill printed its run ids" "$(tr '\n' ' ' < "$T/bf.out")" \
	"backfill__2024-01-01T00:00:00+00:00 backfill__2024-01-02T00:00:00+00:00 backfill__2024-01-03T00:00:00+00:00 "
is "backfill ran each task for each day" "$(sort "$out/bf" | tr '\n' ' ')" \
	"first 2024-01-01 first 2024-01-02 first 2024-01-03 second 2024-01-01 second 2024-01-02 second 2024-01-03 "

# clear a task and its downstream, then let the scheduler rerun them
: > "$out/bf"
"$STA" dags unpause bf > /dev/null
"$STA" tasks clear bf -r 2024-01-02 -t '^first$' --downstream > "$T/clear.out"
is "clear reports both task instances" "$(cat "$T/clear.out")" \
	"cleared 2 task instances of bf backfill__2024-01-02T00:00:00+00:00"
is "the cleared run is queued again" \
	"$(sql "select state from dag_runs where run_id='backfill__2024-01-02T00:00:00+00:00'")" queued
timeout 60 "$STA" scheduler --exit-when-idle > /dev/null 2>&1
is "the scheduler reran exactly the cleared tasks" "$(sort "$out/bf" | tr '\n' ' ')" \
	"first 2024-01-02 second 2024-01-02 "
is "their try numbers went up" \
	"$(sql "select group_concat(try_number, ',') from task_instances i join dag_runs r on r.id=i.run_pk where r.run_id='backfill__2024-01-02T00:00:00+00:00'")" "2,2"
is "clear is in the audit log" "$(sql "select count(*) from audit_log where action='clear'")" 2

# trigger with conf
dag manual <<EOF
dag_id: manual
params: {who: nobody}
tasks:
  hello:
    command: [sh, -c, 'echo hello {{ params.who }} >> $out/manual']
EOF
run_id=$("$STA" dags trigger manual --conf '{"who": "operator"}')
is "trigger prints the run id" "${run_id%%__*}" manual
timeout 60 "$STA" scheduler --exit-when-idle > /dev/null 2>&1
is "the conf overrides the DAG's params" "$(cat "$out/manual")" "hello operator"
"$STA" dags trigger manual --conf '[1,2]' > /dev/null 2> "$T/err"
is "a conf that is not an object is refused with exit 65" "$?" 65
"$STA" dags trigger manual --conf '{"who": "x", "block": {"n": 9007199254740993}}' > /dev/null 2> "$T/err"
is "a conf integer JSON's doubles would round is refused with exit 65" "$?" 65
check "... naming its key" grep -q "conf: 'n' holds an integer of 2^53 or more" "$T/err"
is "the audit log names the CLI user for the trigger" \
	"$(sql "select actor like 'cli:%' from audit_log where action='trigger' and dag_id='manual'")" 1
done_testing
