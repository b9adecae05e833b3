#!/usr/bin/env bash
# sched_crash: a 200-task DAG whose tasks each append one line to a file;
# the scheduler is killed with SIGKILL at least 10 times at random moments
# and restarted.  At the end every task succeeded and every line appears
# exactly once: no task ran twice, none was lost.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

out="$T/out"
mkdir -p "$out"
{
	echo "dag_id: crashy"
	echo "max_active_tasks: 8"
	echo "tasks:"
	for c in $(seq 0 19); do
		for i in $(seq 0 9); do
			echo "  t_${c}_${i}:"
			# 0.1-0.4 s of work each, so the run outlasts a dozen kills
			# (about 6 s of work at 8 in parallel) and kills land while
			# tasks run
			echo "    command: [sh, -c, 'sleep 0.\$((\$\$ % 4 + 1)); echo \$STA_TASK_ID >> $out/lines']"
			[ "$i" -gt 0 ] && echo "    depends_on: [t_${c}_$((i - 1))]"
		done
	done
} > "$STA_DAGS_FOLDER/crashy.yaml"

"$STA" dags trigger crashy --run-id crash_run > /dev/null
kills=0
RANDOM=42
for round in $(seq 1 40); do
	"$STA" scheduler --exit-when-idle >> "$T/sched.log" 2>&1 &
	pid=$!
	t_pids+=("$pid")
	sleep "0.$((RANDOM % 6 + 1))"
	if kill -0 "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	fi
	wait "$pid" 2>/dev/null
	[ "$kills" -ge 12 ] && break
done
check "the scheduler was killed with SIGKILL at least 10 times ($kills)" test "$kills" -ge 10

timeout 300 "$STA" scheduler --exit-when-idle >> "$T/sched.log" 2>&1
is "a final scheduler finishes the run" "$?" 0
is "the run succeeded" "$(sql "select state from dag_runs where run_id='crash_run'")" success
is "all 200 task instances succeeded" \
	"$(sql "select count(*) from task_instances where state='success'")" 200
is "every task appended exactly one line" "$(sort "$out/lines" | uniq | wc -l | tr -d ' ')" 200
is "no line appears twice" "$(sort "$out/lines" | uniq -d | wc -l | tr -d ' ')" 0
is "no task needed a second try" "$(sql "select max(try_number) from task_instances")" 1
is "no try is left running in the store" \
	"$(sql "select count(*) from task_tries where state='running'")" 0
done_testing
