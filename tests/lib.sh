# tests/lib.sh: helpers for integration tests, sourced by each script.
# Tests print TAP: "ok N - what" / "not ok N - what", then "1..N".
# Each test gets a private folder ($T) with its own STA_HOME and DAG
# folder, removed at exit with every process the test started.

set -u
: "${STA:?STA must point at the sta binary (make check sets it)}"
: "${STA_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"

T=$(mktemp -d "${TMPDIR:-/tmp}/sta-test.XXXXXX")
export STA_HOME="$T/home" STA_DAGS_FOLDER="$T/dags"
mkdir -p "$STA_DAGS_FOLDER"
t_n=0
t_failed=0
t_pids=()

t_cleanup() {
	local p
	for p in "${t_pids[@]+"${t_pids[@]}"}"; do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ "$t_failed" -eq 0 ]; then rm -rf "$T"; else echo "# kept $T"; fi
}
trap t_cleanup EXIT

ok() { t_n=$((t_n + 1)); echo "ok $t_n - $*"; }
not_ok() { t_n=$((t_n + 1)); t_failed=$((t_failed + 1)); echo "not ok $t_n - $*"; }

# check DESC CMD...: passes when CMD succeeds.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# is DESC GOT WANT: passes when the strings are equal; shows both if not.
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1"
		printf '#   got:  %s\n#   want: %s\n' "$2" "$3" | sed 's/^\([^#]\)/#   \1/'
	fi
}

done_testing() { echo "1..$t_n"; }

# sql QUERY: runs a query on the state database with the sqlite3 CLI (an
# independent reader of what the scheduler recorded).
sql() { sqlite3 -batch -noheader "$STA_HOME/sta.db" "$1"; }

# dag NAME <<YAML: writes a DAG file into the test's DAG folder.
dag() { cat > "$STA_DAGS_FOLDER/$1.yaml"; }

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local limit=$(( $1 * 10 )) i=0; shift
	while ! "$@" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -ge "$limit" ] && return 1
		sleep 0.1
	done
}

# gone PID: true when the process no longer runs (absent, or a zombie
# that its new parent has not reaped yet).
gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null)
	[ -z "$st" ] || [ "${st#Z}" != "$st" ]
}
