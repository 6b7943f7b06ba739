#!/bin/sh
# Plants the bugs of tests/mutants/mutants.py one at a time in a scratch
# copy of the tree and runs the tests of each bug's area (its unit test
# programs and end-to-end files; no fuzzing, no sanitizers), recording which
# tests fail.  A bug no test notices is reported as MISSED.
#
#	sh tests/mutants/plant.sh [NAME...]      (default: every bug)
#
# The copy is $PT_MUTANT_DIR (default /tmp/pooltag-mutants), built whole
# at the start and then rebuilt incrementally; each bug is undone before
# the next.  Results: one line per bug on standard output, and for each bug
# the failing TAP lines in $PT_MUTANT_DIR/results/NAME.log (the whole output
# of its unit and end-to-end runs in NAME.unit.tap and NAME.e2e.tap).  Set
# PT_MUTANT_ALL=1 to run every unit test program and every end-to-end file
# for each bug instead of those of its area, PT_MUTANT_E2E to run these
# end-to-end files (names without .bats) for every bug.  Exits non-zero,
# before building anything, when a bug named is not in mutants.py or its
# text to replace does not occur exactly once; and at the end when a bug
# was missed or its planted tree did not build.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=${PT_MUTANT_DIR:-/tmp/pooltag-mutants}
mkdir -p "$dir/tree" "$dir/results"
# The tree as committed plus what is not yet (no build products), unless
# PT_MUTANT_REUSE=1 keeps the copy (and its build) from a previous run.
# The files are extracted with the time of the copy (tar -m), so all of
# the copy's build is redone: with their times in the source tree, a file
# older than its object left planted by the last bug of a previous run
# would keep that object, and the bug, in every run after.
if [ "${PT_MUTANT_REUSE:-}" != 1 ]; then
	(cd "$src" && git ls-files -co --exclude-standard | grep -v '^build/' | tar -cf - -T -) |
		(cd "$dir/tree" && tar -xmf -)
fi
cd "$dir/tree" || exit 1
# A run interrupted with a bug planted left FILE.orig: put back in a copy
# kept, dropped in a fresh one (FILE was copied again).
find . -path ./build -prune -o -name '*.orig' -type f -print | while read -r f; do
	if [ "${PT_MUTANT_REUSE:-}" = 1 ]; then
		mv "$f" "${f%.orig}" && touch "${f%.orig}"
	else
		rm -f "$f"
	fi
done
# The bugs to plant, each checked first: a name not in mutants.py, or a
# text to replace that does not occur exactly once (the source moved on),
# stops the run before anything is built, rather than leave that bug out.
python3 - "$@" <<'PY' >"$dir/list" || exit 1
import sys
sys.path.insert(0, "tests/mutants")
from mutants import MUTANTS
want = set(sys.argv[1:])
bad = sorted(want - {m[0] for m in MUTANTS})
for name in bad:
    sys.stderr.write("%s: no such bug in tests/mutants/mutants.py\n" % name)
for name, path, old, new, unit, e2e in MUTANTS:
    if not want or name in want:
        n = open(path).read().count(old)
        if n != 1:
            sys.stderr.write("%s: the text to replace occurs %d times in %s\n" % (name, n, path))
            bad.append(name)
        # "-" for none: a tab is blank to read, so an empty field would vanish
        print("%s\t%s\t%s\t%s" % (name, path, unit or "-", e2e or "-"))
sys.exit(1 if bad else 0)
PY

# What a bug's tests need: the CLI, examples and libraries (all), the
# programs and plugins of the end-to-end tests, and its unit programs.
progs=$(ls tests/progs/*.c tests/plugins/*.c tests/uprogs/*.c | sed -e 's|^tests/uprogs/\(lib.*\)\.c$|build/tests/uprogs/\1.so|' \
	-e 's|^tests/plugins/\(.*\)\.c$|build/tests/plugins/\1.so|' -e 's|^tests/\(.*\)\.c$|build/tests/\1|')
make -s -j2 all $progs >"$dir/build.log" 2>&1 || {
	echo "the unplanted tree does not build: $dir/build.log"
	exit 1
}

apply() { # NAME: plants the bug, keeping the file in FILE.orig
	python3 - "$1" <<'PY'
import sys
sys.path.insert(0, "tests/mutants")
from mutants import MUTANTS
for name, path, old, new, unit, e2e in MUTANTS:
    if name == sys.argv[1]:
        text = open(path).read()
        if text.count(old) != 1:
            sys.exit("%s: the text to replace occurs %d times in %s" % (name, text.count(old), path))
        open(path + ".orig", "w").write(text)
        open(path, "w").write(text.replace(old, new))
PY
}

missed=0 broken=0
while IFS='	' read -r name path unit e2e; do
	[ "$unit" != - ] || unit=
	[ "$e2e" != - ] || e2e=
	if ! apply "$name"; then
		echo "$name: NOT PLANTED"
		broken=$((broken + 1))
		continue
	fi
	log="$dir/results/$name.log"
	units=$(for t in $unit; do printf 'build/tests/%s ' "$t"; done)
	[ "${PT_MUTANT_ALL:-}" != 1 ] || units=build-tests
	# shellcheck disable=SC2086 # lists of targets
	if ! make -s -j2 all $progs $units >"$log" 2>&1; then
		echo "$name: the planted tree does not build (see $log)"
		broken=$((broken + 1))
		mv "$path.orig" "$path"
		touch "$path"
		continue
	fi
	if [ "${PT_MUTANT_ALL:-}" = 1 ]; then
		unit=$(cd build/tests && ls test_*) e2e=tests/e2e
	else
		e2e=$(for f in ${PT_MUTANT_E2E:-$e2e}; do printf 'tests/e2e/%s.bats ' "$f"; done)
	fi
	# Unit programs only when listed (PT_TESTS also turns the e2e run off);
	# then the e2e files alone.
	if [ -n "$unit" ]; then
		PT_TESTS=$unit sh tests/run.sh build >"$log.unit" 2>&1
	else
		: >"$log.unit"
	fi
	PT_TESTS= PT_E2E=$e2e sh tests/run.sh build >"$log.e2e" 2>&1
	# Each failed unit test as PROGRAM: TEST (run.sh heads a program's
	# output with "# build/tests/PROGRAM").
	u=$(awk '/^# build\/tests\// { p = $2; sub(/.*\//, "", p) }
		/^not ok/ { sub(/^not ok [0-9]* - /, ""); print p ": " $0 }' "$log.unit" |
		tr '\n' ',' | sed 's/,$//')
	e=$(grep '^not ok' "$log.e2e" | grep -v -e 'exited with status' |
		sed 's/^not ok [0-9]* //' | tr '\n' ',' | sed 's/,$//')
	{
		echo "# unit ($unit)"
		grep '^not ok' "$log.unit"
		echo "# e2e ($e2e)"
		grep '^not ok' "$log.e2e"
	} >"$log"
	# The whole output, with each failure's diagnostics, beside it.
	mv "$log.unit" "$dir/results/$name.unit.tap"
	mv "$log.e2e" "$dir/results/$name.e2e.tap"
	if [ -z "$u$e" ]; then
		echo "$name: MISSED"
		missed=$((missed + 1))
	else
		echo "$name: unit: ${u:-none}; e2e: ${e:-none}"
	fi
	mv "$path.orig" "$path"
	touch "$path"
done <"$dir/list"
echo "$missed missed"
# Non-zero when a bug went unnoticed or could not be planted or built.
[ "$broken" -eq 0 ] || echo "$broken not planted or not built"
[ "$missed" -eq 0 ] && [ "$broken" -eq 0 ]
