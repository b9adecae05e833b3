#!/usr/bin/env bash
# web_sched_metrics: /metrics of `sta scheduler --web` reports the
# scheduling latency the scheduler measures (due to started).  Two tasks
# share a one-slot pool: the second is due at once but waits about a
# second for the slot, so the last latency is near one second.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$STA" pools set one 1 > /dev/null
dag slots <<EOF
dag_id: slots
tasks:
  holder:
    command: [sh, -c, 'sleep 1']
    pool: one
  waiter:
    command: [sh, -c, 'true']
    pool: one
    priority_weight: 0
EOF
"$STA" scheduler --rescan-seconds 1 --web "127.0.0.1:$port" > "$T/sched.log" 2>&1 &
t_pids+=($!)
wait_for 10 curl -sf "http://127.0.0.1:$port/healthz" -o /dev/null
"$STA" dags trigger slots --run-id r1 > /dev/null
wait_for 30 test "$(sql "select state from dag_runs where run_id = 'r1'")" = success
is "the run succeeded" "$(sql "select state from dag_runs where run_id = 'r1'")" success
latency=$(curl -sf "http://127.0.0.1:$port/metrics" | sed -n 's/^sta_scheduling_latency_seconds \([0-9.e+-]*\)$/\1/p')
check "the scheduler's last scheduling latency is on /metrics ($latency s)" \
	python3 -c "import sys; v = float(sys.argv[1]); sys.exit(0 if 0.5 <= v <= 30 else 1)" "${latency:-nan}"
done_testing
