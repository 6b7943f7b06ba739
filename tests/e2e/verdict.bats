#!/usr/bin/env bats
# pooltag run: a verdict for every process however it ends (exit with
# standard error closed, _exit, exit_group, fatal signals, exec, fork and
# vfork children, SIGKILL), the program's world unchanged (descriptor
# numbers, output), bad frees by line, JSON, suppressions, exit statuses.
# tests/uprogs/ends.c is built without pooltag.

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
	[ -x "$UP/ends" ] || fail "no $UP/ends: build the tests first (make test)"
	L_LEAK=$(src_line tests/uprogs/ends.c '/* LEAK */')
	# The verdict of a process whose one finding is main's block at L_LEAK.
	ONE="1 finding: lost 1 blocks \(64 bytes\) in 1 groups, 0 descriptors open, 0 bad frees, 0 misuse reports(; still reachable: [0-9]+ blocks, [0-9]+ bytes)?$"
	LEAK_LINE="^    1 block, 64 bytes lost \[Ends\] at ends.c:$L_LEAK in main$"
}

teardown() {
	pt_teardown
}

runp() {
	run --separate-stderr timeout -k 5 300 "$PT" run "$@"
}

# no_segments: no segment file was left behind.
no_segments() {
	local left
	left=$(ls "$POOLTAG_DIR")
	[ -z "$left" ] || fail "segments left behind: $left"
}

@test "verdict: a program that closes standard error at exit still gets its report" {
	runp -e 9 -- "$UP/ends" closeerr
	[ "$status" -eq 9 ] || fail "status $status: $stderr"
	[ "$output" = done ]
	[[ ${stderr_lines[0]} =~ ^pooltag:\ run:\ ends\ pid\ [0-9]+ ]] || fail "$stderr"
	has_line "$LEAK_LINE"
	last_line "^pooltag: ends \(pid [0-9]+\) exit: $ONE"
	no_segments
	# ls closes its standard streams at exit (gnulib's close_stdout).
	local bare
	bare=$(ls -la "$PT_SRC/tests")
	runp -- ls -la "$PT_SRC/tests"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = "$bare" ] || fail "ls output differs"
	last_line "^pooltag: ls \(pid [0-9]+\) exit: (clean|[0-9]+ findings?)"
}

@test "verdict: _exit and exit_group report and keep the program's status" {
	runp -- "$UP/ends" _exit
	[ "$status" -eq 4 ] || fail "status $status: $stderr"
	has_line "$LEAK_LINE"
	last_line "^pooltag: ends \(pid [0-9]+\) _exit: $ONE"
	runp -e 9 -- "$UP/ends" exitgroup
	[ "$status" -eq 9 ] || fail "status $status: $stderr"
	last_line "^pooltag: ends \(pid [0-9]+\) _exit: $ONE"
	no_segments
	# dash leaves by _exit.
	runp -- dash -c 'echo hello; exit 3'
	[ "$status" -eq 3 ] && [ "$output" = hello ] || fail "status $status: $output $stderr"
	last_line "^pooltag: dash \(pid [0-9]+\) _exit: "
}

@test "verdict: a fatal signal is named, with what the process held" {
	runp -- "$UP/ends" segv
	[ "$status" -eq 139 ] || fail "status $status: $stderr"
	has_line "$LEAK_LINE"
	last_line "^pooltag: ends \(pid [0-9]+\) killed by SIGSEGV: $ONE"
	runp -- "$UP/ends" abort
	[ "$status" -eq 134 ] || fail "status $status: $stderr"
	last_line "^pooltag: ends \(pid [0-9]+\) killed by SIGABRT: $ONE"
	no_segments
}

@test "verdict: the program's own signal handler sees SIG_DFL before it and runs" {
	runp -- "$UP/ends" handler
	[ "$status" -eq 6 ] || fail "status $status: $stderr"
	[ "$output" = "SIGTERM was default" ] || fail "$output"
	last_line "^pooltag: ends \(pid [0-9]+\) _exit: $ONE"
}

@test "verdict: SIGKILL leaves no report; pooltag run says so and removes the segment" {
	runp -- dash -c 'kill -9 $$'
	[ "$status" -eq 137 ] || fail "status $status: $stderr"
	last_line "^pooltag: dash \(pid [0-9]+\) killed by SIGKILL: no report"
	no_segments
}

@test "verdict: a fork child reports what it acquired after the fork, under its own pid" {
	local fl track l child
	fl=$(src_line tests/uprogs/ends.c '/* FORK */')
	# With records the inherited blocks are told by their generation, the
	# exit scan classifies; without (--track none), held less held at fork.
	for track in stacks none; do
		runp --track $track -- "$UP/ends" fork
		[ "$status" -eq 0 ] || fail "status $status: $stderr"
		[ "$output" = "child exited 0" ]
		has_line "^pooltag: ends \(pid [0-9]+, child of [0-9]+\) exit: 1 finding: (lost|held) 10 blocks \(320 bytes\) in 1 groups, 0 descriptors open, 0 bad frees, 0 misuse reports"
		has_line "^    10 blocks, 320 bytes (lost|held) \[Ends\] at ends.c:$fl in main$"
		# The child's report is its own: the parent's block is not in it.
		child=
		for l in "${stderr_lines[@]}"; do
			[[ $l =~ child\ of ]] && break
			child+="$l"$'\n'
		done
		[[ $child != *"ends.c:$L_LEAK "* ]] || fail "the parent's block in the child's report: $stderr"
		# The parent holds only its own block.
		last_line "^pooltag: ends \(pid [0-9]+\) exit: 1 finding: (lost|held) 1 blocks \(64 bytes\) in 1 groups"
	done
	no_segments
}

@test "verdict: a vfork child's close and dup2 leave the parent's descriptors counted" {
	local vl
	vl=$(src_line tests/uprogs/ends.c '/* VFORK open */')
	runp -- "$UP/ends" vfork
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ $output =~ ^parent\ still\ has\ fd\ ([0-9]+)$ ]] || fail "$output"
	local fd=${BASH_REMATCH[1]}
	# The parent's report still has the file it opened.
	has_line "^    fd $fd \[File\] /dev/null opened by ends at ends.c:$vl in main$"
	last_line "^pooltag: ends \(pid [0-9]+\) exit: 2 findings: lost 1 blocks \(64 bytes\) in 1 groups, 1 descriptors open, 0 bad frees"
}

@test "verdict: a script that execs the real program says so; -f follows it" {
	printf '#!/bin/sh\nexec "%s/ends" "$@"\n' "$UP" >"$PT_TMP/shim"
	chmod +x "$PT_TMP/shim"
	runp -- "$PT_TMP/shim" _exit
	[ "$status" -eq 4 ] || fail "status $status: $stderr"
	last_line "^pooltag: sh \(pid [0-9]+\) exec $UP/ends: not followed \(pooltag run -f follows it\)$"
	! [[ $stderr =~ "pooltag: ends" ]] || fail "$stderr"
	runp -f -- "$PT_TMP/shim" _exit
	[ "$status" -eq 4 ] || fail "status $status: $stderr"
	has_line "^pooltag: sh \(pid [0-9]+\) exec $UP/ends: followed$"
	last_line "^pooltag: ends \(pid [0-9]+\) _exit: $ONE"
	no_segments
}

@test "verdict: double and foreign frees name the line that freed" {
	local df inner da
	df=$(src_line tests/uprogs/ends.c '/* DFREE */')
	inner=$(src_line tests/uprogs/ends.c '/* INTERIOR */')
	da=$(src_line tests/uprogs/ends.c '/* DFREE alloc */')
	runp -e 7 -- "$UP/ends" dfree
	[ "$status" -eq 7 ] || fail "status $status: $stderr"
	[ "$output" = freed ]
	has_line "^  frees of pointers that were not live blocks \(freed twice, or not from malloc\):$"
	# With a record per block (the default) the header survives the first
	# free: the second names where the block was allocated.
	has_line "^    1 at ends.c:$df in main \(first 0x[0-9a-f]+, freed twice: a block of 16 bytes allocated at .*ends.c:$da in main\)$"
	has_line "^    1 at ends.c:$inner in main \(first 0x[0-9a-f]+\)$"
	last_line "^pooltag: ends \(pid [0-9]+\) exit: 3 findings: lost 1 blocks \(64 bytes\) in 1 groups, 0 descriptors open, 2 bad frees, 0 misuse reports"
	# Without records the freeing lines are still named.
	runp --track none -- "$UP/ends" dfree
	has_line "^    1 at ends.c:$df in main \(first 0x[0-9a-f]+\)$"
	has_line "^    1 at ends.c:$inner in main \(first 0x[0-9a-f]+\)$"
	last_line "^pooltag: ends \(pid [0-9]+\) exit: 3 findings: held 1 blocks \(64 bytes\) in 1 groups, 0 descriptors open, 2 bad frees"
}

@test "verdict: the program gets the descriptor numbers and output of a bare run" {
	local bare
	bare=$("$UP/ends" fdnums)
	[[ $bare =~ ^open\ [0-9]+\ pipe\ [0-9]+\ [0-9]+\ fopen\ [0-9]+\ dup\ [0-9]+$ ]] || fail "bare run: $bare"
	runp -- "$UP/ends" fdnums
	[ "$output" = "$bare" ] || fail "'$output' != '$bare'"
	runp --track stacks -- "$UP/ends" fdnums
	[ "$output" = "$bare" ] || fail "with stacks: '$output' != '$bare'"
}

@test "verdict: --json writes one versioned object per report with groups and stacks" {
	command -v python3 >/dev/null || skip "no python3"
	runp --json "$PT_TMP/r.json" --track stacks -- "$UP/ends" fork
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	python3 - "$PT_TMP/r.json" "$L_LEAK" <<'PY' || fail "$(cat "$PT_TMP/r.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
assert len(objs) == 2, objs
child, parent = objs
assert child["pooltag_run"] == 1 and parent["pooltag_run"] == 1
assert child["event"] == "exit" and child["findings"] == 1 and child["blocks"] == 10, child
assert child["scanned"] and parent["scanned"]
# Every group listed by default is a finding: still reachable memory is
# counted in reachable_blocks, and listed only with --show-reachable.
for o in objs:
    assert all(g["finding"] for g in o["groups"]), o
    assert sum(g["blocks"] for g in o["groups"]) == o["blocks"], o
g = parent["groups"][0]
assert g["kind"] == "blocks" and g["memory"] == "lost" and g["blocks"] == 1 and g["bytes"] == 64, g
assert len(parent["groups"]) == 1, parent
top = g["stack"][0]
assert top["function"] == "main" and top["file"] == "ends.c" and top["line"] == int(sys.argv[2]), top
PY
	# With --show-reachable the reachable groups are there, no finding.
	rm "$PT_TMP/r.json"
	runp --json "$PT_TMP/r.json" --show-reachable -- "$UP/ends" dfree
	python3 - "$PT_TMP/r.json" <<'PY' || fail "$(cat "$PT_TMP/r.json")"
import json, sys
o = json.loads(open(sys.argv[1]).read())
reach = [g for g in o["groups"] if g["kind"] == "blocks" and g["memory"] == "reachable"]
assert reach and not any(g["finding"] for g in reach), o
assert sum(g["blocks"] for g in reach) == o["reachable_blocks"] > 0, o
assert o["bad_frees"] == 2 and o["findings"] == 3, o
PY
}

@test "verdict: the text report passes no control byte of a name to the terminal" {
	# An escape sequence, a bell, CSI as the C1 control U+009B, and a line
	# end that would forge a verdict.
	name=$(printf '%s/x\033[31mred\a\302\2330m\npooltag: sh (pid 1) exit: clean' "$PT_TMP")
	runp -- bash -c 'exec 7>"$1"' sh "$name"
	[[ $stderr == *"fd 7 [File] $PT_TMP/x?[31mred???0m?pooltag: sh (pid 1) exit: clean opened by "* ]] ||
		fail "target: $stderr"
	! printf '%s\n' "$stderr" | grep -q '^pooltag: sh (pid 1)' || fail "a forged line: $stderr"
	[[ $stderr != *$'\033'* && $stderr != *$'\a'* && $stderr != *$'\302\233'* ]] ||
		fail "a control character reached stderr: $(printf '%s' "$stderr" | cat -v)"
}

@test "verdict: --json is valid UTF-8 whatever the names: a descriptor's target in Latin-1" {
	command -v python3 >/dev/null || skip "no python3"
	name=$(printf '%s/caf\351-\303\251' "$PT_TMP") # "café" in Latin-1, then in UTF-8
	runp --json "$PT_TMP/r.json" -- bash -c 'exec 7>"$1"' sh "$name"
	python3 - "$PT_TMP/r.json" "$PT_TMP" <<'PY' || fail "$(cat "$PT_TMP/r.json")"
import json, sys
raw = open(sys.argv[1], "rb").read()
o = json.loads(raw.decode("utf-8"))  # strict: a raw 0xe9 byte would fail here
fd = [g for g in o["groups"] if g["kind"] == "descriptor"]
assert len(fd) == 1 and fd[0]["fd"] == 7, o
# The stray byte escaped as itself, the valid sequence kept.
assert fd[0]["target"] == sys.argv[2] + "/caf\u00e9-\u00e9", ascii(fd[0]["target"])
assert b"\\u00e9-\xc3\xa9" in raw, raw
PY
}

@test "verdict: suppressions leave findings out; --gen-suppressions prints entries that do" {
	runp --gen-suppressions -- "$UP/ends" dfree
	has_line "^  suppression entries for these findings:$"
	has_line '^    leak:\^main\$$'
	has_line '^    free:\^main\$$'
	[ "$(printf '%s\n' "${stderr_lines[@]}" | grep -c '^    free:')" -eq 1 ] || fail "an entry twice: $stderr"
	printf '# generated\n' >"$PT_TMP/supp"
	local l
	for l in "${stderr_lines[@]}"; do
		[[ $l =~ ^\ \ \ \ ((leak|fd|free):.*)$ ]] && printf '%s\n' "${BASH_REMATCH[1]}" >>"$PT_TMP/supp"
	done
	runp -e 9 --suppressions "$PT_TMP/supp" -- "$UP/ends" dfree
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	last_line "^pooltag: ends \(pid [0-9]+\) exit: clean, nothing lost(; still reachable: [0-9]+ blocks, [0-9]+ bytes)? \((the C runtime [a-z]+ [0-9]+ blocks, [0-9]+ bytes; )?3 suppressed\)$"
	# By source file at depth 0, by module anywhere.
	printf 'leak:ends.c@0\n' >"$PT_TMP/s2"
	runp --suppressions "$PT_TMP/s2" -- "$UP/ends" _exit
	last_line "_exit: clean.*1 suppressed\)$"
	printf 'leak:ends.c@1\n' >"$PT_TMP/s3"
	runp --suppressions "$PT_TMP/s3" -- "$UP/ends" _exit
	last_line "_exit: $ONE"
	printf 'any:^ends$\n' >"$PT_TMP/s4"
	runp --suppressions "$PT_TMP/s4" -- "$UP/ends" _exit
	last_line "_exit: clean.*1 suppressed\)$"
	printf 'leak:main\nleek:main\n' >"$PT_TMP/bad"
	runp --suppressions "$PT_TMP/bad" -- "$UP/ends" _exit
	assert_error "run: .*/bad:2: unknown kind \(leak, fd, free or any\)$"
	printf 'leak:main@x\n' >"$PT_TMP/bad"
	runp --suppressions "$PT_TMP/bad" -- "$UP/ends" _exit
	assert_error "run: .*/bad:1: @DEPTH wants a frame number 0 to 255$"
}

@test "verdict: exit statuses: 127 not found, 126 cannot execute" {
	run -127 --separate-stderr "$PT" run -- "$PT_TMP/none"
	[ "$status" -eq 127 ] || fail "status $status: $stderr"
	printf 'data\n' >"$PT_TMP/plain"
	chmod -x "$PT_TMP/plain"
	run -126 --separate-stderr "$PT" run -- "$PT_TMP/plain"
	[ "$status" -eq 126 ] || fail "status $status: $stderr"
	[[ $stderr == *"Permission denied"* ]] || fail "$stderr"
	mkdir "$PT_TMP/dir"
	run -126 --separate-stderr "$PT" run -- "$PT_TMP/dir"
	[ "$status" -eq 126 ] || fail "status $status: $stderr"
}

@test "verdict: a relative --output still gets the report after the program changes directory" {
	cd "$PT_TMP"
	runp -o rel.txt -- dash -c 'cd /; exit 0'
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "status $status: $stderr"
	grep -q "^pooltag: run: dash pid [0-9]*" "$PT_TMP/rel.txt" || fail "$(cat "$PT_TMP/rel.txt")"
	grep -q "^pooltag: dash (pid [0-9]*) _exit: " "$PT_TMP/rel.txt" || fail "$(cat "$PT_TMP/rel.txt")"
	[ ! -e /rel.txt ]
}
