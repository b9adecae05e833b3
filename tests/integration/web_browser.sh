#!/usr/bin/env bash
# web_browser: the UI in headless Chromium (Debian's chromium, driven by
# npm playwright-core, tests/browser/ui.mjs) against `sta scheduler --web`
# with a login: log in, see the DAG list, trigger a run with conf and watch
# its grid cells turn green, open a log, see the graph and the analytics
# charts of a seeded analytical store.  Screenshots go to the test's
# folder and, when a check fails, to tests/browser/artifacts/.  Without
# chromium the test fails: ./dev deps installs it.
. "${STA_SRCDIR:-$(dirname "$0")/../..}/tests/lib.sh"

shots="$T/shots"
artifacts() {
	if [ "$t_failed" -gt 0 ] && [ -d "$shots" ]; then
		local dest
		dest="$STA_SRCDIR/tests/browser/artifacts/$(date -u +%Y%m%dT%H%M%S)-$$"
		mkdir -p "$dest" && cp "$shots"/*.png "$dest"/ 2>/dev/null
		echo "# screenshots in $dest"
	fi
}

if [ ! -x /usr/bin/chromium ]; then
	not_ok "Debian's chromium is installed (./dev deps installs it)"
	done_testing
	exit 1
fi
if [ ! -f "$STA_SRCDIR/node_modules/playwright-core/package.json" ]; then
	not_ok "npm playwright-core is installed (./dev deps installs it)"
	done_testing
	exit 1
fi

dag tiny <<'EOF'
dag_id: tiny
schedule: "@daily"
start_date: 2099-01-01
tasks:
  a:
    command: [sh, -c, 'echo "task a says hello"; sleep 1']
  b:
    command: [sh, -c, 'sleep 1']
    depends_on: [a]
  c:
    command: [sh, -c, 'sleep 1']
    depends_on: [a]
EOF
password="a browser's password"
printf '%s\n' "$password" | "$STA" users add alice --role operator > /dev/null
check "a user to log in as" test $? -eq 0

rows=4
sqlite3 "$STA_HOME/analytics.db" "
create table aggregate_metrics_by_day (day text primary key, blocks_cnt integer, gas_used integer,
  transactions_cnt integer, value_transferred_eth text, avg_difficulty text);
insert into aggregate_metrics_by_day values
  ('2024-01-01', 7000, 100000000, 1200000, '12345.678901', null),
  ('2024-01-02', 7100, 120000000, 1100000, '22345.5', null),
  ('2024-01-03', 7050, 90000000, 1300000, '9345.1', null),
  ('2024-01-04', 7200, 130000000, 1250000, '15000', null);
create table security_token_metrics_by_day (day text, standard text, transfers integer,
  holders integer, primary key (day, standard));
insert into security_token_metrics_by_day values
  ('2024-01-01', 'ERC-1400', 3, 10), ('2024-01-01', 'ERC-3643', 5, 7),
  ('2024-01-02', 'ERC-1400', 4, 11), ('2024-01-02', 'ERC-3643', 1, 7);"
check "an analytical store with $rows days" test "$(sqlite3 "$STA_HOME/analytics.db" \
	'select count(*) from aggregate_metrics_by_day')" -eq "$rows"

"$STA" scheduler --web 127.0.0.1:0 --require-auth --rescan-seconds 1 \
	> "$T/scheduler.out" 2> "$T/scheduler.err" &
spid=$!
t_pids+=("$spid")
wait_for 60 grep -q 'http://' "$T/scheduler.out"
url=$(sed -n 's|^sta web: \(http://[^ ]*\) .*|\1|p' "$T/scheduler.out")
check "the scheduler serves the UI ($url)" test -n "$url"

node "$STA_SRCDIR/tests/browser/ui.mjs" "$url" "$shots" alice "$password" "$rows" \
	> "$T/browser.out" 2>&1
rc=$?
while IFS= read -r line; do
	case "$line" in
	PASS\ *) ok "${line#PASS }" ;;
	FAIL\ *) not_ok "${line#FAIL }" ;;
	*) echo "# $line" ;;
	esac
done < "$T/browser.out"
is "the browser script ran to its end" "$rc" 0

run=$(sql "select run_id from dag_runs where run_type = 'manual'")
is "the run the browser triggered has its conf" "$(sql "select conf from dag_runs where run_id = '$run'")" \
	'{"who":"browser"}'
is "and is audited as alice's" "$(sql "select actor from audit_log where action = 'trigger'")" "api:alice"
is "every task instance of it succeeded (store)" \
	"$(sql "select group_concat(ti.state) from task_instances ti join dag_runs r on r.id = ti.run_pk where r.run_id = '$run'")" \
	"success,success,success"
kill -TERM "$spid"
wait "$spid"
is "the scheduler with its web server stops cleanly on SIGTERM" "$?" 0
if grep -q 'runtime error:\|Sanitizer' "$T/scheduler.err"; then
	not_ok "no sanitizer reports from the scheduler"
	grep -m 5 'runtime error:\|Sanitizer' "$T/scheduler.err" | sed 's/^/# /'
else
	ok "no sanitizer reports from the scheduler"
fi
ls "$shots"/*.png > /dev/null 2>&1
check "screenshots were taken" test $? -eq 0
artifacts
if [ -n "${STA_KEEP_SHOTS:-}" ]; then mkdir -p "$STA_KEEP_SHOTS" && cp "$shots"/*.png "$STA_KEEP_SHOTS"/; fi
done_testing
