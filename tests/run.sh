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
# a skip there means a test did not run that should have.  The exception is
# a unit test that marks itself "# skip build: REASON" (pt_test.h's
# PT_SKIP_BUILD): it cannot run in this build (a sanitizer) and runs in the
# plain one, which CI also runs.
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
		bad=$(grep '^ok .*# [Ss][Kk][Ii][Pp]' "$3" | grep -v '# skip build: ')
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

if { [ -z "$PT_TESTS" ] || [ -n "$PT_E2E" ]; } && [ -x "$BUILD/pooltag" ] &&
	ls tests/e2e/*.bats >/dev/null 2>&1; then
	e2e=${PT_E2E:-tests/e2e}
	echo "# $e2e"
	# shellcheck disable=SC2086 # PT_E2E may name several files
	POOLTAG_BUILD=$(cd "$BUILD" && pwd) bats --tap $e2e >"$log" 2>&1
	st=$?
	cat "$log"
	count e2e $st "$log"
fi

for f in "$@"; do
	n=$(basename "$f")
	echo "# $f (short run)"
	corpus=$(mktemp -d)
	seeds=fuzz/seeds/$n
	[ -d "$seeds" ] || seeds=
	if "$f" -runs=20000 -max_total_time=20 "$corpus" $seeds >"$log" 2>&1; then
		echo "ok - $n: short run (20000 runs or 20 s), no crash"
		passed=$((passed + 1))
	else
		tail -n 30 "$log"
		echo "not ok - $n failed (see the lines above)"
		failed=$((failed + 1))
	fi
	rm -rf "$corpus"
done

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
