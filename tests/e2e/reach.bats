#!/usr/bin/env bats
# pooltag run at exit: lost or still reachable (a conservative scan of the
# roots: data and bss, every thread's stack, registers and TLS), lost
# memory grouped by call stack with the program's own line as headline.
# The programs (tests/uprogs/reach.c, cxxleak.cc) know nothing of pooltag.

load helpers

setup() {
	pt_setup
	UP="$PT_BUILD/tests/uprogs"
	# make check-asan sets POOLTAG_PRELOAD to the plain build's interposer
	# (an interposed malloc cannot be combined with ASan's own).
	if nm -D "${POOLTAG_PRELOAD:-$PT_BUILD/libpooltag-preload.so}" 2>/dev/null |
		grep -q ' U __asan_init'; then
		skip "an ASan interposer cannot run (two malloc interposers): set POOLTAG_PRELOAD to a plain one"
	fi
	[ -x "$UP/reach" ] || fail "no $UP/reach: build the tests first (make test)"
	L_LEAK=$(src_line tests/uprogs/reach.c '/* LEAK line */')
}

teardown() {
	pt_teardown
}

runp() {
	run --separate-stderr timeout -k 5 300 "$PT" run "$@"
}

no_line() {
	local l
	for l in "${stderr_lines[@]}"; do
		[[ $l =~ $1 ]] && fail "a line of stderr matches '$1':"$'\n'"$stderr"
	done
	return 0
}

# reach_mode MODE TEXT: runs reach MODE with --show-reachable; the block
# of the line holding TEXT must be listed reachable, and only the LEAK
# line's block lost.
reach_mode() {
	local line
	line=$(src_line tests/uprogs/reach.c "$2")
	runp --show-reachable -e 7 -- "$UP/reach" "$1"
	[ "$status" -eq 7 ] || fail "status $status: $stderr"
	has_line "^pooltag: reach \(pid [0-9]+\) exit: [0-9]+ findings?: lost 1 blocks \(77 bytes\) in 1 groups"
	has_line "^    1 block, 77 bytes lost \[Reac\] at reach.c:$L_LEAK in leak_one$"
	has_line "^    1 block, [0-9]+ bytes reachable \[Reac\] at reach.c:$line in [a-z_]+$"
}

@test "reach: memory a global points to is reachable" {
	reach_mode global '/* GLOBAL line */'
}

@test "reach: memory only main's stack points to is reachable when exit() is called deeper" {
	reach_mode stack '/* STACK line */'
}

@test "reach: memory only the main thread's TLS points to is reachable" {
	reach_mode tls '/* TLS line */'
}

@test "reach: memory another thread's stack and TLS point to is reachable while it blocks" {
	reach_mode thread '/* THREAD stack line */'
	reach_mode thread '/* THREAD tls line */'
}

@test "reach: memory only a register of a spinning thread holds is reachable" {
	reach_mode register '/* REGISTER line */'
}

@test "reach: threads allocating without pause are stopped for the scan; nothing of theirs is lost" {
	for i in 1 2 3 4 5; do
		runp -- "$UP/reach" busy
		[ "$status" -eq 0 ] || fail "status $status: $stderr"
		has_line "^pooltag: reach \(pid [0-9]+\) exit: [0-9]+ findings?: lost 1 blocks \(77 bytes\) in 1 groups"
	done
}

@test "reach: a dropped tree is one lost block and its nodes indirectly lost under it" {
	local line
	line=$(src_line tests/uprogs/reach.c '/* TREE line */')
	runp -- "$UP/reach" tree
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	has_line "^pooltag: reach \(pid [0-9]+\) exit: [0-9]+ findings?: lost 14 blocks \(909 bytes\) in 2 groups, 0 descriptors open, 0 bad frees, 0 misuse reports(; still reachable: [0-9]+ blocks, [0-9]+ bytes)?$"
	has_line "^    1 block, 64 bytes lost, and 12 blocks, 768 bytes indirectly \[Reac\] at reach.c:$line in tree$"
}

@test "reach: a cycle no root reaches is lost" {
	local line
	line=$(src_line tests/uprogs/reach.c '/* CYCLE line */')
	runp -- "$UP/reach" cycle
	has_line "^    1 block, 64 bytes lost, and 1 block, 64 bytes indirectly \[Reac\] at reach.c:$line in main$"
}

@test "reach: a block only main's dead frame points to after main returned is lost" {
	local line
	line=$(src_line tests/uprogs/reach.c '/* RETURNED line */')
	runp -- "$UP/reach" returned
	has_line "^    1 block, 88 bytes lost \[Reac\] at reach.c:$line in main$"
}

@test "reach: a clean verdict names what is still reachable on its line" {
	runp -e 7 -- "$UP/leaky" clean
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	# The line saying the program's pid, then the verdict.
	[ "${#stderr_lines[@]}" -eq 2 ] || fail "$stderr"
	[[ ${stderr_lines[0]} =~ ^pooltag:\ run:\ leaky\ pid\ [0-9]+ ]] || fail "$stderr"
	has_line "^pooltag: leaky \(pid [0-9]+\) exit: clean, nothing lost; still reachable: 1 blocks, [0-9]+ bytes$"
}

@test "reach: C++ objects leaked with new are blamed on the program's line, strings and vectors under them" {
	local new leak kept
	[ -x "$UP/cxxleak" ] || skip "no C++ compiler: cxxleak was not built"
	new=$(src_line tests/uprogs/cxxleak.cc '// NEW line')
	leak=$(src_line tests/uprogs/cxxleak.cc '// LEAK line')
	kept=$(src_line tests/uprogs/cxxleak.cc '// KEPT line')
	runp --show-reachable -- "$UP/cxxleak"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	# 3 Records of 56 bytes, each holding a string buffer and a vector's array.
	has_line "^    3 blocks, 168 bytes lost, and 6 blocks, [0-9]+ bytes indirectly \[Cxxl\] at cxxleak.cc:$new in make_record$"
	has_line "^        #[0-9]+ cxxleak.cc:$leak in main$"
	# The kept one is reachable from a global, with what it holds.
	has_line "^    1 block, 56 bytes reachable \[Cxxl\] at cxxleak.cc:$new in make_record$"
	no_line "lost.* at (basic_string|new_allocator|stl_vector|vector)"
	no_line "reachable.* at (basic_string|new_allocator|stl_vector|vector|[a-z_]+\.tcc)"
}

@test "reach: frames of a library unloaded before exit keep their names" {
	local la
	la=$(src_line tests/uprogs/libuplug.c '/* PLUGIN alloc */')
	runp -- "$UP/dlhost" "$UP/libuplug.so" 4 leak
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	has_line "^    4 blocks, 256 bytes lost \[uplu\] at libuplug.c:$la in plug_work$"
	has_line "^        #0 libuplug.c:$la in plug_work$"
	has_line "^        #1 dlhost.c:[0-9]+ in main$"
}

@test "reach: -e counts lost memory only, not what is still reachable" {
	runp -e 9 -- "$UP/reach" global
	[ "$status" -eq 9 ] || fail "status $status: $stderr"
	runp -e 9 --track none -- "$UP/leaky" clean
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
}
