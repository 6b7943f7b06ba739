#!/usr/bin/env bats
# The verifier's special pool driven through POOLTAG, as a user runs it: a
# memory error of a real program is caught where it happens and reported
# with the sites and stacks that allocated and freed the block; the seed's
# fixed driver runs clean with every tag in the special pool.

load helpers

SEED="$PT_BUILD/examples/seed"
MIS="$PROGS/misuser"

setup() {
	pt_setup
	[ -x "$MIS" ] || fail "build $MIS first (make $MIS)"
	ALLOC_LINE=$(src_line tests/progs/misuser.c 'char *p = pt_alloc(PT_PAGED, 40, "Bug1");')
	FREE_LINE=$(src_line tests/progs/misuser.c 'pt_free(p, "Bug1");')
}

teardown() {
	pt_teardown
}

# misuse WHAT OPTIONS: runs misuser WHAT with POOLTAG=OPTIONS.
misuse() {
	run --separate-stderr env POOLTAG="$2" timeout -k 5 60 "$MIS" "$1" </dev/null
}

@test "special: an overrun faults on the guard page; verify=exit stops with 86" {
	misuse overrun "special=Bug*,verify=exit"
	[ "$status" -eq 86 ] || fail "status $status; stderr: $stderr"
	[[ $stderr == *"pooltag: special pool: write at 0x"*", an overrun of block 0x"*" (tag 'Bug1', 40 bytes): offset 48 (8 bytes past its end)"* ]] ||
		fail "stderr: $stderr"
	[[ $stderr == *"accessed at main (misuser.c:"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"allocated at tests/progs/misuser.c:$ALLOC_LINE (alloc_here)"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"stack: alloc_here (misuser.c:$ALLOC_LINE) <- main (misuser.c:"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"stopping the program (exit status 86)"* ]] || fail "stderr: $stderr"
	[ -z "$output" ] || fail "went on: $output"
}

@test "special: an underrun faults with special.guard=before" {
	misuse underrun "special=Bug1,special.guard=before,verify=exit"
	[ "$status" -eq 86 ] || fail "status $status; stderr: $stderr"
	[[ $stderr == *"read at 0x"*", an underrun of block"*"offset -17 (17 bytes before its start)"* ]] ||
		fail "stderr: $stderr"
}

@test "special: a use after free names both sites and stacks; report continues" {
	misuse uaf "special=Bug1,verify=report"
	[ "$status" -eq 0 ] || fail "status $status; stderr: $stderr"
	[ "$output" = done ] || fail "stdout: $output"
	[[ $stderr == *"a use after free of block"*"(tag 'Bug1', 40 bytes): offset 8"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"allocated at tests/progs/misuser.c:$ALLOC_LINE (alloc_here)"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"freed at tests/progs/misuser.c:$FREE_LINE (free_here)"* ]] || fail "stderr: $stderr"
	[[ $stderr == *"stack: free_here (misuser.c:$FREE_LINE) <- main (misuser.c:"* ]] || fail "stderr: $stderr"
}

@test "special: an overrun short of the guard page is found in the fill at free" {
	misuse slack "special=Bug1"
	[ "$status" -eq 0 ] || fail "status $status; stderr: $stderr"
	[[ $stderr == *"pooltag: special pool: overrun of block 0x"*"overwritten at offsets 40-40 (0 to 0 bytes past the end)"* ]] ||
		fail "stderr: $stderr"
	[[ $stderr == *"allocated at tests/progs/misuser.c:$ALLOC_LINE (alloc_here)"* ]] || fail "stderr: $stderr"
}

@test "special: a clean run, and blocks of tags not selected, report nothing" {
	misuse clean "special=Bug1,verify=exit"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "status $status; stderr: $stderr"
	misuse clean "special=Othr,special.size=1-4K,special.module=main,verify=exit"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "status $status; stderr: $stderr"
}

@test "special: a bad option is named on one line and skipped" {
	misuse clean "special.size=9-1,special.guard=sideways"
	[ "$status" -eq 0 ] || fail "status $status; stderr: $stderr"
	[[ ${lines[*]} == done ]] || fail "stdout: $output"
	[[ $stderr == *"pooltag: POOLTAG: option 'special.size': MIN is larger than MAX (got '9-1') (ignored)"* ]] ||
		fail "stderr: $stderr"
	[[ $stderr == *"option 'special.guard': expected after or before (got 'sideways')"* ]] || fail "stderr: $stderr"
}

@test "special: the seed's fixed driver runs clean with every tag in the special pool" {
	local f hpid= guards
	for f in host libsey_fixed.so; do
		[ -e "$SEED/$f" ] || fail "no $SEED/$f: build the seed demo first (make all)"
	done
	prog_start h env POOLTAG="special=*,special.quarantine=256:64M,verify=exit" \
		"$SEED/host" "$SEED/libsey_fixed.so" 300
	while prog_read h; do
		if [[ $REPLY =~ ^host:\ driver\ unloaded\;\ pid\ ([0-9]+)\ waiting ]]; then
			hpid=${BASH_REMATCH[1]}
			break
		fi
	done
	[ -n "$hpid" ] || fail "host did not reach the wait; stderr: $(cat "$PT_TMP/h.err")"
	# The special pool is in use: the quarantine (full: far more than 256
	# blocks were freed) and the live blocks' guard pages are inaccessible
	# mappings of their own.
	guards=$(grep -c -- ' ---p ' "/proc/$hpid/maps")
	[ "$guards" -ge 256 ] || fail "only $guards inaccessible mappings"
	prog_send h ""
	prog_expect h 'host: closed 0 leaked handles, released the references held on 0 process objects' ||
		return 1
	prog_expect h 'host: all process objects deleted; exiting' || return 1
	prog_stop h || fail "host exited with status $?; stderr: $(cat "$PT_TMP/h.err")"
	[ "$(cat "$PT_TMP/h.err")" = "pooltag: libsey_fixed.so unloaded: clean, nothing held" ] ||
		fail "stderr: $(cat "$PT_TMP/h.err")"
}
