#!/usr/bin/env bats
# The exit check's pairing of releases with references inside one module
# (tests/progs/refpair.c): a lookup's reference forgotten on an error
# branch is charged to the lookup's line, not to the creation's, and the
# report says when the pairing was a choice between lines.

load helpers

setup() {
	pt_setup
	P="$PT_BUILD/tests/progs/refpair"
	[ -x "$P" ] || fail "no $P: build the tests first (make test)"
	L_CREATE=$(src_line tests/progs/refpair.c '/* CREATE line */')
	L_LOOKUP=$(src_line tests/progs/refpair.c '/* LOOKUP line */')
	L_TAGGED=$(src_line tests/progs/refpair.c '/* LOOKUP tagged line */')
}

teardown() {
	pt_teardown
}

@test "refpair: a forgotten lookup reference is charged to the lookup's line, with the other candidate" {
	run --separate-stderr env POOLTAG=exit-check=1 "$P" 8 3
	[ "$status" -eq 0 ] && [ "$output" = done ] || fail "status $status: $output $stderr"
	[[ $stderr == *"refpair holds 3 references to 'Proc' objects (Process): 3 acquired at refpair.c:$L_LOOKUP in proc_touch"* ]] ||
		fail "$stderr"
	[[ $stderr == *"candidates: refpair.c:$L_LOOKUP in proc_touch (3), refpair.c:$L_CREATE in proc_create (3)"* ]] ||
		fail "$stderr"
	[[ $stderr != *"references to 'Proc' objects (Process): 3 acquired at refpair.c:$L_CREATE"* ]] || fail "$stderr"
}

@test "refpair: with a reference tag on the lookups the pairing is exact" {
	run --separate-stderr env POOLTAG=exit-check=1 "$P" 8 3 tagged
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ $stderr == *"3 acquired at refpair.c:$L_TAGGED in proc_touch"* ]] || fail "$stderr"
	[[ $stderr != *"pairing not certain"* ]] || fail "$stderr"
}

@test "refpair: releases in the looking-up function pair with its lookups: nothing left when none is forgotten" {
	run --separate-stderr env POOLTAG=exit-check=1 "$P" 8 0
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ $stderr == *"refpair exited: clean, nothing held"* ]] || fail "$stderr"
}
