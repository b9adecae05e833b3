#!/usr/bin/env bash
# sched_basic: a fan-out/fan-in DAG runs to success through `sta dags test`;
# the STA_* environment and templates reach the task; `dags show --json`
# prints task ids with their upstream lists; failures give exit 1.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

out="$T/out"
mkdir -p "$out"
dag fan <<EOF
dag_id: fan
schedule: null
params: {greeting: hello}
tasks:
  start:
    command: [sh, -c, 'echo "\$STA_TASK_ID \$STA_DAG_ID \$STA_TRY_NUMBER \$STA_LOGICAL_DATE" > $out/start']
  a:
    command: [sh, -c, 'echo a >> $out/order']
    depends_on: [start]
  b:
    command: [sh, -c, 'echo b >> $out/order']
    depends_on: [start]
  c:
    command: [sh, -c, 'echo c >> $out/order']
    depends_on: [start]
  join:
    command: [sh, -c, 'echo "\$1 \$2 \$3" > $out/join', x, '{{ ds }}', '{{ params.greeting }}', '{{ dag.dag_id }}']
    depends_on: [a, b, c]
EOF

"$STA" dags test fan 2024-03-01 > "$T/test.out" 2>&1
is "dags test exits 0 when the run succeeds" "$?" 0
is "start saw its STA_* environment" "$(cat "$out/start")" \
	"start fan 1 2024-03-01T00:00:00+00:00"
is "fan-out tasks each ran once" "$(sort "$out/order" | tr '\n' ' ')" "a b c "
is "join rendered its templates" "$(cat "$out/join")" "2024-03-01 hello fan"
is "every task instance succeeded (store)" \
	"$(sql "select group_concat(task_id || '=' || state, ' ') from (select task_id, state from task_instances order by task_id)")" \
	"a=success b=success c=success join=success start=success"
is "the run succeeded (store)" "$(sql "select run_type, state from dag_runs")" "test|success"
is "join started after a, b and c ended (store)" \
	"$(sql "select count(*) from task_instances j, task_instances u where j.task_id='join' and u.task_id in ('a','b','c') and j.start_ms >= u.end_ms")" 3
is "no try ends before it starts (store)" \
	"$(sql "select count(*) from task_tries where end_ms < start_ms")" 0
is "try ends are kept to the millisecond, not the second (store)" \
	"$(sql "select count(*) > 0 from task_tries where end_ms % 1000 != 0")" 1

"$STA" dags show fan --json > "$T/show.json"
is "dags show --json gives task ids and upstream lists" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(t["task_id"]+":"+",".join(sorted(t["upstream"])) for t in d["tasks"]))' "$T/show.json")" \
	"start: a:start b:start c:start join:a,b,c"

dag bad_run <<'EOF'
dag_id: bad_run
tasks:
  fails:
    command: [sh, -c, 'exit 3']
  after:
    command: ['true']
    depends_on: [fails]
EOF
"$STA" dags test bad_run 2024-03-01 > /dev/null 2>&1
is "dags test exits 1 when the run fails" "$?" 1
is "the failure propagates as upstream_failed" \
	"$(sql "select group_concat(task_id || '=' || state, ' ') from (select ti.task_id, ti.state from task_instances ti join dag_runs r on r.id = ti.run_pk where r.dag_id='bad_run' order by ti.task_id)")" \
	"after=upstream_failed fails=failed"
"$STA" tasks state bad_run fails 2024-03-01 --json > "$T/state.json"
is "tasks state --json shows the try's exit code" \
	"$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["state"], [t["exit_code"] for t in d["tries"]])' "$T/state.json")" \
	"failed [3]"

# sta tasks logs streams the log, of any size; the result printed at the
# end of a big log is the try's (the log is read backwards).
dag chatty <<'EOF'
dag_id: chatty
tasks:
  talk:
    command: [sh, -c, 'echo "STA_RESULT {\"early\": 1}"; head -c 3000000 /dev/zero | tr "\\0" x; echo; echo "STA_RESULT {\"rows\": 7}"; echo done >&2']
EOF
"$STA" dags test chatty 2024-03-01 > /dev/null 2>&1
is "a task with a 3 MB log succeeds" "$?" 0
"$STA" tasks logs chatty talk 2024-03-01 > "$T/talk.log"
is "tasks logs prints the whole log" "$?" 0
is "  every byte of it" "$(wc -c < "$T/talk.log" | tr -d ' ')" $((24 + 3000000 + 1 + 23 + 5))
is "  ending with the task's last lines" "$(tail -2 "$T/talk.log" | tr '\n' ' ')" \
	'STA_RESULT {"rows": 7} done '
"$STA" tasks logs chatty talk 2024-03-01 --try 1 | cmp -s - "$T/talk.log"
is "tasks logs --try 1 is the same try" "$?" 0
is "the last result of the log is the try's" \
	"$(sql "select result from task_tries t join task_instances ti on ti.id = t.ti_pk where ti.task_id = 'talk'")" \
	'{"rows":7}'
"$STA" tasks logs chatty talk 2024-03-01 --try 2 > /dev/null 2> "$T/err"
is "tasks logs of a try that never ran exits 65" "$?" 65
if [ -w /dev/full ]; then
	"$STA" tasks logs chatty talk 2024-03-01 > /dev/full 2> "$T/err"
	is "tasks logs into a full disk exits 74" "$?" 74
	check "  saying it cannot write" grep -q "cannot write the log: No space left on device" "$T/err"
fi

"$STA" dags test fan 2024-03-01 > /dev/null 2>&1
is "a second dags test of the same date runs again" "$?" 0
is "the second test ran every task again" "$(wc -l < "$out/order" | tr -d ' ')" 6

"$STA" dags test nosuchdag > "$T/err" 2>&1
is "dags test of an unknown DAG exits 65" "$?" 65
check "and names the DAG" grep -q "no DAG 'nosuchdag'" "$T/err"
"$STA" dags frobnicate > /dev/null 2>&1
is "an unknown verb exits 64" "$?" 64
done_testing
