#!/usr/bin/env bats
# pooltag faults: systematic fault injection on real programs.  The seed's
# host with the buggy driver and a single process (no stress, the success
# path only) must show the leak of procpath.c's reference and handle when
# the query's reference fails; the fixed driver must show nothing; the test
# program's crash, misuse, hang and multi-threaded modes are each reported
# with the failing site, and the driver survives them.

load helpers

SEED="$PT_BUILD/examples/seed"
FAULTY="$PT_BUILD/tests/progs/faulty"

setup() {
	pt_setup
	LOOKUP_LINE=$(src_line examples/seed/procpath.c '/* takes a reference */')
	OPEN_LINE=$(src_line examples/seed/procpath.c '/* opens a handle */')
	QUERY_LINE=$(src_line examples/seed/ps.c 'if (pt_handle_ref(ps.kernel, h, ps.proc_type, &obj) != 0)')
	B_LINE=$(src_line tests/progs/faulty.c 'b = pt_alloc(PT_NONPAGED, 32, "FltB");')
	A_LINE=$(src_line tests/progs/faulty.c 'char *a = pt_alloc(PT_PAGED, 16, "FltA");')
}

teardown() {
	pt_teardown
}

# The findings of the seed's driver, however the runs are made.
assert_seed_leak() {
	[ "$status" -eq 1 ] || fail "status $status, expected 1 (findings): $output $stderr"
	[[ ${lines[0]} =~ ^"pooltag faults: ".*" 2 findings"$ ]] || fail "summary: ${lines[0]}"
	[[ $output == *"failing the reference of 'Proc' at ps.c:$QUERY_LINE in zw_query_image_name:"* ]] ||
		fail "no failing site: $output"
	[[ $output == *"libsey.so holds 1 reference to 'Proc' (Process) acquired at procpath.c:$LOOKUP_LINE in get_process_image_path"* ]] ||
		fail "no reference leak: $output"
	[[ $output == *"libsey.so holds 1 handle to 'Proc' (Process) opened at procpath.c:$OPEN_LINE in get_process_image_path"* ]] ||
		fail "no handle leak: $output"
	[[ $output == *"failed at: zw_query_image_name (ps.c:$QUERY_LINE) <- get_process_image_path (procpath.c:"* ]] ||
		fail "no stack of the failure: $output"
}

@test "faults: the seed's leak found with one process and no stress" {
	ptrun faults -- "$SEED/host" "$SEED/libsey.so" 1
	assert_seed_leak
	[[ $output == *"(1 run; repeat: POOLTAG=fail.nth="* ]] || fail "no repeat hint: $output"
}

@test "faults: repeating the reported run reproduces the leak at unload" {
	ptrun faults -- "$SEED/host" "$SEED/libsey.so" 1
	local nth
	nth=$(grep -o 'fail.nth=[0-9]*' <<<"$output" | head -1)
	[ -n "$nth" ] || fail "no repeat hint: $output"
	run --separate-stderr env POOLTAG="$nth" "$SEED/host" "$SEED/libsey.so" 1 </dev/null
	[[ $stderr == *"libsey.so holds 1 reference to 'Proc' objects (Process): 1 acquired at procpath.c:$LOOKUP_LINE"* ]] ||
		fail "the repeated run shows no leak: $stderr"
}

@test "faults: the fixed driver has no finding" {
	ptrun faults -- "$SEED/host" "$SEED/libsey_fixed.so" 1
	pt_ok
	[[ ${lines[0]} == *", 0 findings" ]] || fail "$output"
	[ "${#lines[@]}" -eq 1 ] || fail "unexpected report: $output"
}

@test "faults: every run execs the program with --no-server, same findings" {
	ptrun faults --no-server -- "$SEED/host" "$SEED/libsey.so" 1
	assert_seed_leak
	[[ ${lines[0]} == *"(exec per run)"* ]] || fail "${lines[0]}"
}

@test "faults: --stacks fails each distinct stack once and finds the same" {
	ptrun faults --stacks -- "$SEED/host" "$SEED/libsey.so" 1
	assert_seed_leak
	[[ ${lines[0]} == *"distinct acquisitions stacks"* ]] || fail "${lines[0]}"
	[[ $output == *"repeat: POOLTAG=fail.stack="* ]] || fail "$output"
}

@test "faults: -c restricts the candidates" {
	ptrun faults -c fail.kinds=handle -- "$SEED/host" "$SEED/libsey.so" 1
	pt_ok
	[[ ${lines[0]} == *": 1 acquisition, 2 runs"*", 0 findings" ]] || fail "$output"
	ptrun faults -c 'fail.site=ps.c:*,fail.kinds=ref' -- "$SEED/host" "$SEED/libsey.so" 1
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"failing the reference of 'Proc' at ps.c:$QUERY_LINE"* ]] || fail "$output"
}

@test "faults: an error-path leak of the test program, with both sites" {
	ptrun faults -- "$FAULTY" leak
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"failing the allocation of 'FltB' at faulty.c:$B_LINE in two:"* ]] || fail "$output"
	[[ $output == *"faulty holds 1 block of 'FltA' (16 bytes) allocated at faulty.c:$A_LINE in two"* ]] ||
		fail "$output"
}

@test "faults: a clean program has no finding" {
	ptrun faults -- "$FAULTY" clean
	pt_ok
	[[ ${lines[0]} == *": 1 acquisition, 2 runs in "*", 0 findings" ]] || fail "$output"
}

@test "faults: a crash in an injected run is reported with its site and stack" {
	local line
	line=$(src_line tests/progs/faulty.c 'a[0] = 1; /* no check */')
	ptrun faults -- "$FAULTY" crash
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"failing the allocation of 'FltD' at faulty.c:"* ]] || fail "$output"
	[[ $output == *"crashes with SIGSEGV at crash (faulty.c:$line) <- main (faulty.c:"* ]] || fail "$output"
}

@test "faults: misuse on an error path" {
	ptrun faults -- "$FAULTY" misuse
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"failing the allocation of 'FltF'"* ]] || fail "$output"
	[[ $output == *"misuse: free with wrong tag: block 0x? has tag 'FltE'"* ||
		$output == *"misuse: free with wrong tag: block 0x"*" has tag 'FltE'"* ]] || fail "$output"
}

@test "faults: a run that hangs is killed at the time limit and reported" {
	ptrun faults --timeout 1 -- "$FAULTY" hang
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ $output == *"failing the allocation of 'FltG'"*"hangs (killed after the time limit)"* ]] ||
		fail "$output"
}

@test "faults: a program with threads before its first acquisition is exec'ed per run" {
	ptrun faults -- "$FAULTY" threads
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ ${lines[0]} == *"(exec per run)"* ]] || fail "${lines[0]}"
	[[ $output == *"faulty holds 1 block of 'FltA'"* ]] || fail "$output"
}

@test "faults: progress on a terminal" {
	command -v script >/dev/null || skip "no script(1)"
	run script -qec "'$PT' faults -- '$FAULTY' leak" /dev/null
	[ "$status" -eq 1 ] || fail "status $status: $output"
	# A progress line first (the first pass of the loop draws one), then
	# the line erased and the verdict in its place, then the finding.
	local cr=$'\r' re
	re="^${cr}pooltag faults: [0-9]/2 runs, [0-9]+ runs/s, [0-9] findings? ("
	re+="${cr}pooltag faults: [0-9]/2 runs, [0-9]+ runs/s, [0-9] findings? )*"
	re+="${cr}"$'\e\\[K'"pooltag faults: $FAULTY: 2 acquisitions, 3 runs in [0-9.]+ s \\([0-9]+ runs/s\\), 1 finding${cr}\$"
	[[ ${lines[0]} =~ $re ]] || fail "first line: $(printf '%q' "${lines[0]}")"
	[ "${lines[1]}" = "failing the allocation of 'FltB' at faulty.c:$B_LINE in two:$cr" ] || fail "$output"
	[[ $output == *"faulty holds 1 block of 'FltA' (16 bytes) allocated at faulty.c:$A_LINE in two"* ]] || fail "$output"
}

@test "faults: Ctrl-C prints what was found so far" {
	FAULTY_MARK="$PT_TMP/failed" "$PT" faults -j1 -- "$FAULTY" slow >"$PT_TMP/out" 2>"$PT_TMP/err" &
	local pid=$! i
	# Interrupt once a failing run has started (faulty creates the mark
	# when an allocation fails); 100 runs of 2 s each are far from done.
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ -e "$PT_TMP/failed" ] && break
		sleep 0.05
	done
	[ -e "$PT_TMP/failed" ] || fail "no failing run within ${PT_TIMEOUT}s: $(cat "$PT_TMP/err")"
	kill -INT "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" -eq 130 ] || fail "status $st: $(cat "$PT_TMP/out" "$PT_TMP/err")"
	grep -q "interrupted after [0-9]* of 100 runs" "$PT_TMP/out" || fail "$(cat "$PT_TMP/out")"
}

@test "faults: random failures from the POOLTAG variable, reproducible from the seed" {
	run --separate-stderr env POOLTAG=fail=30% "$FAULTY" pattern
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	local first=$output seed
	[[ $first == *x* && $first == *.* ]] || fail "30% of 64 failing: $first"
	seed=$(grep -o 'fail.seed=[0-9]*' <<<"$stderr")
	[ -n "$seed" ] || fail "no seed told: $stderr"
	[[ $stderr == *"failing 30% of acquisitions, seed "* ]] || fail "$stderr"
	run --separate-stderr env POOLTAG="fail=30%,$seed" "$FAULTY" pattern
	[ "$output" = "$first" ] || fail "the same seed failed others: $first / $output"
	run --separate-stderr env POOLTAG="fail=30%,fail.seed=12345,fail.times=3" "$FAULTY" pattern
	[ "$(tr -cd x <<<"$output" | wc -c)" -eq 3 ] || fail "fail.times=3: $output"
}

@test "faults: the findings' names reach the terminal without their control bytes" {
	# An unmodified program built from a file whose name holds an escape
	# sequence: its leak on the error path names that file.
	local src="$PT_TMP/leak"$'\033'"[31m.c"
	printf '%s\n' '#include <stdlib.h>' \
		'int main(void) { char *a = malloc(16), *b = malloc(32); if (!b) return 1; free(b); free(a); return 0; }' >"$src"
	(cd "$PT_TMP" && cc -g -O0 -o leak "$(basename "$src")") || fail "cannot build the program"
	ptrun faults -- "$PT_TMP/leak"
	[ "$status" -eq 1 ] || fail "status $status: $output $stderr"
	[[ $output == *"allocated at leak?[31m.c:2 in main"* ]] || fail "no leak named: $(printf '%s' "$output" | cat -v)"
	[[ $output != *$'\033'* ]] || fail "an escape reached stdout: $(printf '%s' "$output" | cat -v)"
}

@test "faults: usage errors and a program that cannot be run" {
	ptrun faults
	assert_usage_error "no program given"
	ptrun faults -c fail=3 -- "$FAULTY" leak
	assert_usage_error "--config: option 'fail'"
	ptrun faults -j 0 -- "$FAULTY" leak
	assert_usage_error "^pooltag: faults: --jobs: 1 to 64 "
	ptrun faults -- /nonexistent/program
	[ "$status" -eq 3 ] || fail "status $status: $stderr"
	[[ $stderr == "pooltag: faults: /nonexistent/program"*"could not be run" ]] || fail "$stderr"
	ptrun faults -- /bin/true
	[ "$status" -eq 3 ] || fail "status $status"
	[[ $stderr == *"made no acquisition pooltag can fail"* ]] || fail "$stderr"
}
