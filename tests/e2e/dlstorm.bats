#!/usr/bin/env bats
# pooltag run beside the dynamic linker: an unmodified program whose threads
# load and unload plugins (tests/uprogs/dlstorm.c, libstorm.c) whose
# constructors and dl_iterate_phdr callbacks allocate at call sites never
# seen, while other threads allocate at first-time sites of their own.
# pooltag registers those sites with the dynamic linker's lock held by
# another thread (src/lifecycle.c: it never calls into the dynamic linker
# holding a lock of its own), so the run must end, every unload must be
# reported clean, and the counts must be exact.

load helpers

setup() {
	pt_setup
	UP="$PT_BUILD/tests/uprogs"
	# An interposed malloc cannot be combined with ASan's own (run.bats).
	if nm -D "${POOLTAG_PRELOAD:-$PT_BUILD/libpooltag-preload.so}" 2>/dev/null |
		grep -q ' U __asan_init'; then
		skip "an ASan interposer cannot run (two malloc interposers): set POOLTAG_PRELOAD to a plain one"
	fi
	[ -x "$UP/dlstorm" ] || fail "no $UP/dlstorm: build the tests first (make test)"
}

teardown() {
	pt_teardown
}

@test "dlstorm: plugins loaded and unloaded by 4 threads at once: the run ends, counts exact per site" {
	local threads=4 loads=50 keep=10 pid made n keep_line
	keep_line=$(src_line tests/uprogs/dlstorm.c '/* KEEP line */')
	# The watchdog: only a deadlock comes near it.
	prog_start storm timeout -k 5 "$PT_TIMEOUT" "$PT" run -- \
		"$UP/dlstorm" "$UP/libstorm.so" "$threads" "$loads" "$keep" wait
	prog_expect storm 'pid [0-9]+'
	pid=${REPLY#pid }
	prog_expect storm 'done [0-9]+'
	made=${REPLY#done }
	# Every allocation of the plugins' code, charged to their tag and freed.
	ptrun used 1 --sites stor "$pid"
	pt_ok
	assert_row "stor" "0 0 0 0 $made $made 0 0"
	# What the storm's threads kept, at their line, exactly.
	ptrun used 1 --sites Dlst "$pid"
	pt_ok
	[[ $output =~ $'\n'\ +0\ +0\ +0\ +0\ +$((threads * keep))\ +0\ +$((threads * keep))\ +$((threads * keep * 48))\ +at\ dlstorm.c:$keep_line\ in\ storm($'\n'|$) ]] ||
		fail "no row of $((threads * keep)) blocks at dlstorm.c:$keep_line: $output"
	prog_send storm go
	prog_stop storm || fail "status $?: $(cat "$PT_TMP/storm.err")"
	# Each dlclose (two before the storm) reported, and none held anything.
	n=$(grep -c "^pooltag: libstorm[0-9]*\.so (pid $pid) unloaded: clean, nothing held$" "$PT_TMP/storm.err")
	[ "$n" -eq $((2 + threads * loads)) ] ||
		fail "$n clean unloads, expected $((2 + threads * loads)): $(grep -v 'unloaded: clean' "$PT_TMP/storm.err")"
	! grep -q "unloaded: [0-9]* finding" "$PT_TMP/storm.err" || fail "$(cat "$PT_TMP/storm.err")"
	tail -n 1 "$PT_TMP/storm.err" | grep -Eq "^pooltag: dlstorm \(pid $pid\) exit: " ||
		fail "no verdict: $(tail -n 3 "$PT_TMP/storm.err")"
}
