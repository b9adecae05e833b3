#!/usr/bin/env bash
# sched_retry: retries with fixed and exponential delays, statuses that are
# never retried, and execution_timeout killing a task (and its children)
# that ignores SIGTERM.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"
export STA_KILL_GRACE_SECONDS=1

out="$T/out"
mkdir -p "$out"
dag retry <<EOF
dag_id: retry
default_args: {retries: 2, retry_delay: 1s}
tasks:
  flaky:
    command: [sh, -c, 'echo \$STA_TRY_NUMBER >> $out/flaky; exit 1']
  backoff:
    command: [sh, -c, 'echo \$STA_TRY_NUMBER >> $out/backoff; exit 2']
    retry_exponential_backoff: true
  config_error:
    command: [sh, -c, 'echo x >> $out/config_error; exit 78']
  usage_error:
    command: [sh, -c, 'echo x >> $out/usage_error; exit 64']
  skipper:
    command: [sh, -c, 'exit 99']
  recovers:
    command: [sh, -c, 'echo x >> $out/recovers; [ \$STA_TRY_NUMBER -ge 2 ]']
EOF
"$STA" dags test retry 2024-01-01 > "$T/log" 2>&1
is "a run with a failed task exits 1" "$?" 1
is "retries: 2 gives three tries" "$(tr '\n' ' ' < "$out/flaky")" "1 2 3 "
is "three tries recorded in the store" \
	"$(sql "select count(*) from task_tries t join task_instances i on i.id=t.ti_pk where i.task_id='flaky'")" 3
gaps=$(sql "select group_concat(t2.start_ms - t1.end_ms, ' ') from task_tries t1 join task_tries t2 on t2.ti_pk=t1.ti_pk and t2.try_number=t1.try_number+1 join task_instances i on i.id=t1.ti_pk where i.task_id='flaky' order by t1.try_number")
check "each retry waited retry_delay (1s) after the failure: $gaps" \
	awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); if (n != 2) exit 1; for (i = 1; i <= n; i++) if (a[i] < 1000) exit 1 }'
gaps=$(sql "select group_concat(t2.start_ms - t1.end_ms, ' ') from task_tries t1 join task_tries t2 on t2.ti_pk=t1.ti_pk and t2.try_number=t1.try_number+1 join task_instances i on i.id=t1.ti_pk where i.task_id='backoff' order by t1.try_number")
check "exponential backoff: waits of at least 1s then 2s: $gaps" \
	awk -v g="$gaps" 'BEGIN { n = split(g, a, " "); if (n != 2) exit 1; if (a[1] < 1000 || a[2] < 2000) exit 1 }'
is "exit 78 is not retried" "$(wc -l < "$out/config_error" | tr -d ' ')" 1
is "exit 64 is not retried" "$(wc -l < "$out/usage_error" | tr -d ' ')" 1
is "exit 99 means skipped" "$(sql "select state from task_instances where task_id='skipper'")" skipped
is "a task that succeeds on its second try ends success" \
	"$(sql "select state || ' ' || try_number from task_instances where task_id='recovers'")" "success 2"
is "the failed tries' exit codes are recorded" \
	"$(sql "select group_concat(exit_code, ',') from (select t.exit_code from task_tries t join task_instances i on i.id=t.ti_pk where i.task_id='flaky' order by t.try_number)")" \
	"1,1,1"

dag slow <<EOF
dag_id: slow
tasks:
  stubborn:
    command: [sh, -c, 'trap "" TERM; sleep 60 & echo \$! > $out/child; wait; sleep 60']
    execution_timeout: 2s
EOF
start=$(date +%s)
"$STA" dags test slow 2024-01-01 > "$T/log2" 2>&1
rc=$?
took=$(( $(date +%s) - start ))
is "a timed-out task fails the run" "$rc" 1
check "the timeout and kill grace took effect quickly (${took}s < 20s)" test "$took" -lt 20
child=$(cat "$out/child")
check "the task's child process (pid $child) is gone too" gone "$child"
is "the try's reason says it timed out" \
	"$(sql "select reason like '%timeout%' from task_tries t join task_instances i on i.id=t.ti_pk where i.task_id='stubborn'")" 1
done_testing
