# helpers.bash - what the end-to-end tests share: where the build is, a
# private segment directory per test, programs driven over FIFOs with
# handshakes, running the CLI, and assertions on its output.
#
# Every .bats file does:
#	load helpers
#	setup() { pt_setup; }
#	teardown() { pt_teardown; }
#
# The build directory comes from $POOLTAG_BUILD (tests/run.sh sets it, to
# build/ or build/asan/), else the tree's build/.

bats_require_minimum_version 1.5.0

PT_SRC=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
PT_BUILD=${POOLTAG_BUILD:-$PT_SRC/build}
PT="$PT_BUILD/pooltag"
TAGGED="$PT_BUILD/examples/tagged"
PROGS="$PT_BUILD/tests/progs"

# Seconds to wait for a handshake line or a process to exit.  Only a hang
# should reach it: the sanitizer build is several times slower, and a
# shared 2-core machine under a load of 25 made the seed's host take over
# 30 s to reach its first line.
PT_TIMEOUT=${PT_TIMEOUT:-120}

# ---------------------------------------------------------------------------
# Setup and teardown

# A private directory per test: $PT_TMP for files, $POOLTAG_DIR (inside it)
# for segments, so a test sees only its own processes' segments.
pt_setup() {
	[ -x "$PT" ] || fail "no CLI at $PT: build first (make all)"
	PT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/pooltag-e2e.XXXXXX")
	export POOLTAG_DIR="$PT_TMP/shm"
	mkdir "$POOLTAG_DIR"
	unset POOLTAG_TAGS POOLTAG_EXPORT POOLTAG_MAX_SITES POOLTAG_MAX_SHARDS
	declare -gA PROG_PID=() PROG_IN=() PROG_OUT=()
	PT_FDS=()  # every FIFO descriptor this shell holds
	PT_PIDS=() # other processes to kill at the end (sleep, grandchildren)
}

# Stops every program the test started, then removes the directory.
pt_teardown() {
	local name pid
	for pid in "${PT_PIDS[@]}"; do
		kill -9 "$pid" 2>/dev/null || true
	done
	for name in "${!PROG_PID[@]}"; do
		prog_stop "$name" || true
	done
	[ -z "$PT_TMP" ] || rm -rf "$PT_TMP"
}

fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# ---------------------------------------------------------------------------
# Programs driven over FIFOs

# spawn IN OUT ERR CMD...: starts CMD in the background reading IN and
# writing OUT and ERR, without the shell's other descriptors: bats waits for
# whoever holds its fd 3, and a FIFO's write end held by another process
# would keep it from ever reaching end-of-file.  Sets SPAWNED to the pid
# (the subshell execs CMD, so it is CMD's pid).
spawn() {
	local in=$1 out=$2 err=$3 fd
	shift 3
	(
		for fd in "${PT_FDS[@]}"; do
			eval "exec $fd>&-"
		done
		exec "$@"
	) <"$in" >"$out" 2>"$err" 3>&- &
	SPAWNED=$!
}

# prog_start NAME CMD...: runs CMD with its standard input and output on
# FIFOs that prog_send and prog_read use.  Its stderr goes to $PT_TMP/NAME.err.
prog_start() {
	local name=$1 w r
	shift
	mkfifo "$PT_TMP/$name.in" "$PT_TMP/$name.out"
	spawn "$PT_TMP/$name.in" "$PT_TMP/$name.out" "$PT_TMP/$name.err" "$@"
	PROG_PID[$name]=$SPAWNED
	# Same order as the child opens them, so neither open waits forever.
	exec {w}>"$PT_TMP/$name.in"
	exec {r}<"$PT_TMP/$name.out"
	PROG_IN[$name]=$w
	PROG_OUT[$name]=$r
	PT_FDS+=("$w" "$r")
}

# sampler_start [POOLTAG]: starts tests/progs/sampler as "s" with that
# POOLTAG (default a fixed seed), allocates, and sets SPID.
sampler_start() {
	rm -f "$PT_TMP/s.in" "$PT_TMP/s.out"
	POOLTAG=${1:-sample.seed=7} prog_start s "$PROGS/sampler"
	prog_send s pid
	prog_expect s 'pid [0-9]+'
	SPID=${REPLY#pid }
	prog_cmd s alloc
}

prog_send() {
	printf '%s\n' "$2" >&"${PROG_IN[$1]}" || fail "$1: cannot write '$2' (exited?)"
}

# prog_read NAME: the next line of NAME's output in $REPLY, within
# $PT_TIMEOUT seconds.
prog_read() {
	if ! IFS= read -r -t "$PT_TIMEOUT" -u "${PROG_OUT[$1]}" REPLY; then
		fail "$1: no line within ${PT_TIMEOUT}s; its stderr: $(cat "$PT_TMP/$1.err")"
	fi
}

# prog_expect NAME REGEX: the next line must match (bash regex, anchored).
prog_expect() {
	prog_read "$1" || return 1
	[[ $REPLY =~ ^$2$ ]] || fail "$1: expected a line matching '$2', got '$REPLY'"
}

# prog_cmd NAME LINE: sends a command and waits for its "ok".
prog_cmd() {
	prog_send "$1" "$2" && prog_expect "$1" ok
}

# wait_gone PID: polls until PID has exited (the shell reaps its children by
# itself), at most $PT_TIMEOUT seconds.
wait_gone() {
	local i
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	fail "process $1 still running after ${PT_TIMEOUT}s"
}

# prog_stop NAME: closes its input (every driven program exits at the end of
# its input, freeing what it holds), then waits for it; kills it if it does
# not go.  Returns its exit status.
prog_stop() {
	local name=$1 pid=${PROG_PID[$1]} fd rc=0
	for fd in "${PROG_IN[$name]}" "${PROG_OUT[$name]}"; do
		[ -z "$fd" ] || eval "exec $fd>&-"
	done
	if ! wait_gone "$pid" 2>/dev/null; then
		kill -9 "$pid" 2>/dev/null
		rc=137
	fi
	wait "$pid" 2>/dev/null || rc=$?
	unset "PROG_PID[$name]" "PROG_IN[$name]" "PROG_OUT[$name]"
	return "$rc"
}

# tagged_start [NAME]: starts examples/tagged as NAME (default "t"), checks
# that the pid it reports is the one we started, and sets TPID.
tagged_start() {
	local name=${1:-t}
	prog_start "$name" "$TAGGED"
	prog_send "$name" pid
	prog_expect "$name" '[0-9]+'
	TPID=$REPLY
	prog_expect "$name" ok
	[ "$TPID" = "${PROG_PID[$name]}" ] || fail "tagged says pid $TPID, we started ${PROG_PID[$name]}"
}

# tagged_work N [NAME]: serves N requests and waits for the "ok".
tagged_work() {
	prog_cmd "${2:-t}" "work $1"
}

# bg_sleep: a process of ours that does not export counters; sets SLEEP_PID.
bg_sleep() {
	spawn /dev/null /dev/null /dev/null sleep 300
	SLEEP_PID=$SPAWNED
	PT_PIDS+=("$SLEEP_PID")
}

# The segment of a live process.
seg_of() {
	printf '%s/pooltag-%s' "$POOLTAG_DIR" "$1"
}

# wait_file_gone PATH: polls until PATH no longer exists.
wait_file_gone() {
	local i
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ -e "$1" ] || return 0
		sleep 0.05
	done
	fail "$1 still exists after ${PT_TIMEOUT}s"
}

# ---------------------------------------------------------------------------
# Running the CLI

# ptrun ARGS...: runs the CLI with separate stdout ($output, $lines) and
# stderr ($stderr, $stderr_lines).  A hang is killed and shows as status 124.
ptrun() {
	# bats 1.8's run, given flags, assigns a global i (bats_version_lt):
	# keep it from clobbering the caller's loop variable.
	local i
	run --separate-stderr timeout -k 5 120 "$PT" "$@"
}

# pt_ok: the last run succeeded and wrote nothing on stderr.
pt_ok() {
	[ "$status" -eq 0 ] || fail "exit status $status; stderr: $stderr; stdout: $output"
	[ -z "$stderr" ] || fail "unexpected stderr: $stderr"
}

# assert_error REGEX: the last run failed cleanly: status 1 (not a crash, not
# a usage error), nothing on stdout, and exactly one line on stderr that
# starts "pooltag: " and matches REGEX (unanchored).
assert_error() {
	[ "$status" -eq 1 ] || fail "exit status $status, expected 1; stderr: $stderr"
	[ -z "$output" ] || fail "unexpected stdout: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr, got ${#stderr_lines[@]}: $stderr"
	[[ ${stderr_lines[0]} == "pooltag: "* ]] || fail "stderr does not start 'pooltag: ': $stderr"
	[[ ${stderr_lines[0]} =~ $1 ]] || fail "stderr does not match '$1': $stderr"
}

# assert_usage_error REGEX: status 2, nothing on stdout, exactly one line on
# stderr, which starts "pooltag: ", matches REGEX and points at --help.
assert_usage_error() {
	[ "$status" -eq 2 ] || fail "exit status $status, expected 2; stderr: $stderr"
	[ -z "$output" ] || fail "unexpected stdout: $output"
	[ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line on stderr, got ${#stderr_lines[@]}: $stderr"
	[[ ${stderr_lines[0]} == "pooltag: "* ]] || fail "stderr does not start 'pooltag: ': $stderr"
	[[ ${stderr_lines[0]} =~ $1 ]] || fail "stderr does not match '$1': $stderr"
	[[ ${stderr_lines[0]} == *"--help')" ]] || fail "no pointer to --help: $stderr"
}

# "${NOBODY[@]}" CMD...: runs CMD as uid/gid 65534 (needs root).
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# need_nobody: skips unless we are root (tests/run.sh fails a skip under
# CI=true).  Sets NOBODY_PT to a copy of the CLI that uid 65534 can run: the
# checkout itself may be out of its reach (a clone under a 0700 home).
need_nobody() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to run the CLI as another user"
	command -v setpriv >/dev/null || fail "needs setpriv (scripts/deps.sh installs util-linux)"
	mkdir "$PT_TMP/nobody"
	cp "$PT" "$PT_TMP/nobody/pooltag"
	chmod 711 "$PT_TMP"
	chmod 755 "$PT_TMP/nobody"
	NOBODY_PT="$PT_TMP/nobody/pooltag"
	"${NOBODY[@]}" test -x "$NOBODY_PT" || fail "uid 65534 cannot run $NOBODY_PT"
}

# ---------------------------------------------------------------------------
# Reading the output

# tag_row TAG: the line of the text table ($lines) for TAG, as the CLI
# prints tags, 4 characters ("Hdr "); "TOTAL" for the total row.
tag_row() {
	local l
	for l in "${lines[@]}"; do
		if [[ $l == " $1 "* ]]; then
			printf '%s\n' "$l"
			return 0
		fi
	done
	return 1
}

# assert_row TAG "N N N ..." [DESCRIPTION]: TAG's row has exactly these
# numbers (4 in the short layout, 8 verbose) and this description.
assert_row() {
	local l nums desc re='^ (.{4}|TOTAL)(( +[0-9]+)+)(	|   )?(.*)$'
	l=$(tag_row "$1") || fail "no row for '$1' in:"$'\n'"$output" || return 1
	[[ $l =~ $re ]] || fail "row of '$1' does not parse: '$l'" || return 1
	nums=$(echo ${BASH_REMATCH[2]})
	desc=${BASH_REMATCH[5]}
	[ "$nums" = "$2" ] || fail "row of '$1': numbers '$nums', expected '$2'" || return 1
	[ $# -lt 3 ] || [ "$desc" = "$3" ] || fail "row of '$1': description '$desc', expected '$3'"
}

# row_nums TAG: the numbers of TAG's row, space separated.
row_nums() {
	local l re='^ (.{4}|TOTAL)(( +[0-9]+)+)'
	l=$(tag_row "$1") || fail "no row for '$1' in:"$'\n'"$output" || return 1
	[[ $l =~ $re ]] || fail "row of '$1' does not parse: '$l'" || return 1
	echo ${BASH_REMATCH[2]}
}

# table_tags: the tags of the text table's rows, in order, one per line.
table_tags() {
	local l started=
	for l in "${lines[@]}"; do
		if [[ $l == " Tag "* ]]; then
			started=1
		elif [ -n "$started" ] && [[ $l =~ ^\ ([^\ ].{3})\ *\ [0-9] ]] && [[ $l != " TOTAL"* ]] &&
			[[ $l != " ..."* ]]; then
			printf '%s\n' "${BASH_REMATCH[1]}"
		fi
	done
}

# assert_order "A B C": the table's tags, in order (trailing spaces dropped).
assert_order() {
	local got
	got=$(table_tags | sed 's/ *$//' | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$1" ] || fail "tag order '$got', expected '$1'"
}

# pyjson EXPR: evaluates a Python expression over the JSON document in
# $output (d) and prints it; tag("Hdr ") is that tag's object.
pyjson() {
	python3 -c '
import json, sys
d = json.loads(sys.argv[2])
def tag(t):
    m = [x for x in d["tags"] if x["tag"] == t]
    if len(m) != 1:
        sys.exit("tag %r appears %d times" % (t, len(m)))
    return m[0]
print(eval(sys.argv[1]))' "$1" "$output"
}

# json_eq EXPR VALUE
json_eq() {
	local got
	got=$(pyjson "$1") || return 1
	[ "$got" = "$2" ] || fail "$1 is '$got', expected '$2'"
}

# src_line FILE TEXT: the number of the line of source FILE holding TEXT
# (exactly one line must), for the call sites the CLI names.
src_line() {
	local n
	n=$(grep -nF -- "$2" "$PT_SRC/$1" | cut -d: -f1)
	[[ $n =~ ^[0-9]+$ ]] || fail "'$2' is not on exactly one line of $1: '$n'" || return 1
	printf '%s\n' "$n"
}

# Sites of examples/tagged.c.
tagged_lines() {
	CONN_LINE=$(src_line examples/tagged.c 'pt_zalloc(PT_PAGED, sizeof(*c), "Conn")')
	REQ_LINE=$(src_line examples/tagged.c 'pt_alloc(PT_PAGED, len, "Req ")')
	KEY_LINE=$(src_line examples/tagged.c 'pt_alloc(PT_NONPAGED, 32, "Key ")')
	HDR_LINE=$(src_line examples/tagged.c 'pt_alloc(PT_PAGED, sizeof(*h), "Hdr ")')
}

# Request sizes of examples/tagged.c: request i asks 256 + (i % 7) * 100.
req_bytes() {
	local i sum=0
	for ((i = 0; i < $1; i++)); do
		sum=$((sum + 256 + (i % 7) * 100))
	done
	echo "$sum"
}

TAGGED_HDR_DESC='Allocated in serve (examples/tagged.c) , Binary: tagged'

# ---------------------------------------------------------------------------
# Hand-made snapshots (docs/snapshot-format.md)

# write_snap FILE [LINE...]: a version 1 snapshot of pid 4242, command
# "fixture", with the given desc/site lines (fields separated by '|', turned
# into TABs) and a matching end line.
write_snap() {
	local f=$1 l nsites=0 ndescs=0
	shift
	{
		printf 'pooltag-snapshot 1\npid 4242\nuid 1000\ncommand fixture\n'
		printf 'taken 1700000000000000000\ncreated 1699999990000000000\n'
		printf 'start_ticks 777\nmisuse 0\n'
		for l in "$@"; do
			printf '%s\n' "${l//|/$'\t'}"
			case $l in
			site*) nsites=$((nsites + 1)) ;;
			desc*) ndescs=$((ndescs + 1)) ;;
			esac
		done
		printf 'end\t%d\t%d\n' "$nsites" "$ndescs"
	} >"$f"
}

# The snapshot the sort and layout tests use.  Per tag (np: non-paged):
#   Aaaa  paged: 10 allocs, 0 frees, 1000 bytes live      described at run time
#   Bbbb  np, two sites: 60 allocs, 56 frees, 400 bytes live
#   Cccc  np: 3 allocs, 3000 bytes; paged: 100 allocs, 70 frees, 30 bytes
#   Dddd  paged: 50 allocs, 30 frees, 2000 bytes live
#   Zzzz  paged: 1 alloc, 1 free; no site, no description: UNKNOWN
fixture_snap() {
	write_snap "$1" \
		'desc|Aaaa|abin|Alpha things' \
		'site|Aaaa|paged|10|0|1000|0|3|lib/a.c|afunc' \
		'site|Bbbb|nonpaged|20|18|200|100|9|lib/b.c|bfunc2' \
		'site|Bbbb|nonpaged|40|38|400|100|5|lib/b.c|bfunc' \
		'site|Cccc|nonpaged|3|0|3000|0|7|lib/c.c|cfunc' \
		'site|Cccc|paged|100|70|100|70|8|lib/c.c|cfunc' \
		'site|Dddd|paged|50|30|5000|3000|12|lib/d.c|dfunc' \
		'site|Zzzz|paged|1|1|16|16|0||'
}

# Assertions on the standard error of `run --separate-stderr`.
# has_line REGEX: some line of $stderr matches (bash regex, unanchored).
has_line() {
	local l
	for l in "${stderr_lines[@]}"; do
		[[ $l =~ $1 ]] && return 0
	done
	fail "no line of stderr matches '$1':"$'\n'"$stderr"
}

# last_line REGEX: the last line of stderr matches (a verdict ends every run).
last_line() {
	local n=${#stderr_lines[@]}
	[ "$n" -gt 0 ] && [[ ${stderr_lines[n - 1]} =~ $1 ]] ||
		fail "the last line of stderr does not match '$1':"$'\n'"$stderr"
}
