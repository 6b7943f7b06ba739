#!/bin/sh
# Runs every test program in BUILD/tests, every bats file in tests/e2e when
# BUILD/pooltag exists, and a short run of each fuzz target given as an
# argument.  $PT_TESTS (program names) and $PT_E2E (bats files) narrow the
# run: with either set, only what they name runs.  Each prints TAP; this
# counts the lines and ends with "N passed, N failed, N skipped".
#
# "ok N ... # skip REASON" is a skip, never a pass.  A program that dies
# without printing its plan counts as one failure.
#
# With CI=true in the environment a skipped test is a failure too: CI
# installs everything the tests need (scripts/deps.sh) and runs as root, so
# a skip there means a test did not run that should have.  The exceptions:
# a unit test that marks itself "# skip build: REASON" (pt_test.h's
# PT_SKIP_BUILD): it cannot run in this build (a sanitizer) and runs in the
# plain one, which CI also runs; and a test that marks itself
# "# skip kernel: REASON": it needs what the running kernel does not offer
# (a kernel feature no package installs), and its fixtures run regardless.
BUILD=${1:-build}
shift
log=$(mktemp)
# Segments go to a directory of this run's own, which must be empty again
# at the end: a test that leaves a segment behind fails.
POOLTAG_DIR=$(mktemp -d)
export POOLTAG_DIR
trap 'rm -f "$log"; rm -rf "$POOLTAG_DIR"' EXIT
passed=0 failed=0 skipped=0
ci=
[ "$CI" = true ] && ci=1

count() { # name, status, output file
	s=$(grep -c '^ok .*# [Ss][Kk][Ii][Pp]' "$3")
	p=$(($(grep -c '^ok ' "$3") - s))
	f=$(grep -c '^not ok ' "$3")
	if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $1 exited with status $2"
		f=1
	fi
	if [ -n "$ci" ]; then
		bad=$(grep '^ok .*# [Ss][Kk][Ii][Pp]' "$3" | grep -v -e '# skip build: ' -e '# skip kernel: ')
		if [ -n "$bad" ]; then
			echo "$bad" | sed 's/^ok /not ok (skipped under CI=true) /'
			n=$(echo "$bad" | wc -l)
			f=$((f + n)) s=$((s - n))
		fi
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

if [ -n "$PT_TESTS" ]; then
	progs=$(for t in $PT_TESTS; do echo "$BUILD/tests/$t"; done)
elif [ -n "$PT_E2E" ]; then
	progs=
else
	progs=$(ls "$BUILD"/tests/test_* 2>/dev/null)
fi
for t in $progs; do
	echo "# $t"
	"$t" >"$log" 2>&1
	st=$?
	cat "$log"
	count "$t" $st "$log"
done

# The end-to-end files run in $PT_JOBS groups at once (default 2, the
# files dealt out by their number of tests): the tests wait on programs and
# handshakes more than they compute, and none depends on timing.
if { [ -z "$PT_TESTS" ] || [ -n "$PT_E2E" ]; } && [ -x "$BUILD/pooltag" ] &&
	ls tests/e2e/*.bats >/dev/null 2>&1; then
	files=${PT_E2E:-$(for f in tests/e2e/*.bats; do
		echo "$(grep -c '^@test' "$f") $f"
	done | sort -rn | cut -d' ' -f2)}
	jobs=${PT_JOBS:-2}
	echo "# end-to-end: $(echo $files | wc -w) files in $jobs groups"
	pids=
	for j in $(seq 1 "$jobs"); do
		group=$(echo $files | tr ' ' '\n' | awk -v j="$j" -v n="$jobs" 'NF && (NR - 1) % n == j - 1')
		[ -n "$group" ] || continue
		# shellcheck disable=SC2086 # a list of files
		(POOLTAG_BUILD=$(cd "$BUILD" && pwd) bats --tap $group >"$log.e2e$j" 2>&1
		 echo $? >"$log.e2e$j.rc") &
		pids="$pids $!"
	done
	# shellcheck disable=SC2086
	wait $pids
	for j in $(seq 1 "$jobs"); do
		[ -f "$log.e2e$j" ] || continue
		cat "$log.e2e$j"
		count "e2e group $j" "$(cat "$log.e2e$j.rc")" "$log.e2e$j"
		rm -f "$log.e2e$j" "$log.e2e$j.rc"
	done
fi

# The fuzz targets' short runs, two at a time.
fuzz_one() { # target: its verdict line, after its log's tail on failure
	n=$(basename "$1")
	corpus=$(mktemp -d)
	seeds=fuzz/seeds/$n
	[ -d "$seeds" ] || seeds=
	if "$1" -runs=20000 -max_total_time=20 "$corpus" $seeds >"$log.$n" 2>&1; then
		echo "ok - $n: short run (20000 runs or 20 s), no crash"
	else
		tail -n 30 "$log.$n"
		echo "not ok - $n failed (see the lines above)"
	fi
	rm -rf "$corpus" "$log.$n"
}
if [ $# -gt 0 ]; then
	echo "# fuzz targets (short runs)"
	: >"$log.fuzz"
	for f in "$@"; do
		echo "$f"
	done | {
		while read -r a; do
			read -r b || b=
			fuzz_one "$a" >>"$log.fuzz.a" &
			[ -z "$b" ] || fuzz_one "$b" >>"$log.fuzz.b"
			wait
			cat "$log.fuzz.a" >>"$log.fuzz"
			[ -z "$b" ] || cat "$log.fuzz.b" >>"$log.fuzz"
			rm -f "$log.fuzz.a" "$log.fuzz.b"
		done
	}
	cat "$log.fuzz"
	passed=$((passed + $(grep -c '^ok ' "$log.fuzz")))
	failed=$((failed + $(grep -c '^not ok ' "$log.fuzz")))
	rm -f "$log.fuzz"
fi

left=$(ls "$POOLTAG_DIR")
if [ -n "$left" ]; then
	echo "not ok - segments left behind by the tests: $(echo $left)"
	failed=$((failed + 1))
else
	echo "ok - no test left a segment behind"
	passed=$((passed + 1))
fi

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
