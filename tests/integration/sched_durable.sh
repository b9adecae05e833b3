#!/usr/bin/env bash
# sched_durable: group commit.  strace follows the scheduler's write-ahead
# log: its writes (W), its syncs (S), and the scheduler's waits for events
# (E, epoll_wait) and reads of its supervisors' reports (R).  By default a
# commit is not synced on its own: the loop waits with commits not synced
# yet (W then E, no S between), a sync comes while a task runs (not only
# at exit), and the last write is synced before the scheduler exits.  With
# STA_DB_SYNC=full every commit is synced before the loop waits again.  A
# report that starts no try is committed after a wait (R, E, then W with
# no other report between), with the changes of the next few ms.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

if ! command -v strace > /dev/null; then
	not_ok "strace is installed (Debian: strace)"
	done_testing
	exit 1
fi

{
	echo "dag_id: durable"
	echo "schedule: null"
	echo "max_active_tasks: 2"
	echo "tasks:"
	echo "  slow:"
	echo "    command: [sleep, '1']"
	echo "  after:"
	echo "    command: ['true']"
	echo "    depends_on: [slow]"
	for i in $(seq 20); do
		printf '  q%d:\n    command: [true]\n' "$i"
	done
} | dag durable

# events LABEL: runs the DAG under strace; prints the scheduler's events
# as one word of W, S, E and R: from its loop's first wait on, for the
# log as the scheduler's connection opened it (the descriptor of the last
# write; the command's own connection wrote before the loop).
events() {
	rm -rf "$STA_HOME"
	# (LeakSanitizer cannot run under ptrace)
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
		strace -f -qq -y -e trace=pwrite64,fdatasync,epoll_wait,recvfrom -o "$T/trace.$1" \
		"$STA" dags test durable 2024-03-01 > "$T/out.$1" 2>&1
	echo "$?" > "$T/rc.$1"
	awk 'NR == 1 { main = $1 }
	    $1 != main { next }
	    match($0, /^[0-9]+ +(pwrite64|fdatasync)\([0-9]+<[^>]*sta\.db-wal>/) {
		    split(substr($0, RSTART, RLENGTH), f, /[ (<]+/)
		    ev[++n] = (f[2] == "pwrite64" ? "W" : "S") f[3]
		    if (f[2] == "pwrite64") fd = f[3]
		    next
	    }
	    /^[0-9]+ +epoll_wait\(/ { ev[++n] = "E" }
	    /^[0-9]+ +recvfrom\([0-9]+<socket:/ && !/= -1 EAGAIN/ { ev[++n] = "R" }
	    END {
		    for (i = 1; i <= n && ev[i] != "E"; i++)
			    ;
		    for (; i <= n; i++)
			    if (ev[i] == "E" || ev[i] == "R" || substr(ev[i], 2) == fd)
				    printf "%s", substr(ev[i], 1, 1)
		    print ""
	    }' "$T/trace.$1"
}

has() { grep -qE "$1" <<< "$2"; }
lacks() { ! grep -qE "$1" <<< "$2"; }

ev=$(events batched)
is "the run succeeds under strace" "$(cat "$T/rc.batched") $(sql "select state from dag_runs")" "0 success"
# W+ then E with no S: a commit the loop did not wait to sync
check "commits are not synced one by one: the loop goes on before the sync" has 'W+E' "$ev"
check "commits are synced while tasks run, not only at exit" has 'S[ERS]*W' "$ev"
check "the last write is synced before exit" has 'S[ER]*$' "$ev"
check "a report that starts nothing is committed after a wait, not at once" has 'RE+W' "$ev"

ev=$(STA_DB_SYNC=full events full)
is "the run succeeds with STA_DB_SYNC=full" "$(cat "$T/rc.full") $(sql "select state from dag_runs")" "0 success"
check "STA_DB_SYNC=full: each commit synced before the loop waits" lacks 'W+[ER]' "$ev"
check "STA_DB_SYNC=full: commits were traced" has 'W+S' "$ev"

done_testing
