#!/usr/bin/env bats
# pooltag run: unmodified programs (tests/uprogs, built without pooltag)
# and real ones (python3, sqlite3, git, gcc), run with the interposer:
# sites named down to the line, live views, reports at exit and dlclose,
# the exit status, and results identical to a bare run.

load helpers

setup() {
	pt_setup
	UP="$PT_BUILD/tests/uprogs"
	# An interposed malloc cannot be combined with ASan's own: make
	# check-asan runs the sanitizer build's CLI with the plain build's
	# interposer (POOLTAG_PRELOAD) on the uninstrumented programs.
	if nm -D "${POOLTAG_PRELOAD:-$PT_BUILD/libpooltag-preload.so}" 2>/dev/null |
		grep -q ' U __asan_init'; then
		skip "an ASan interposer cannot run (two malloc interposers): set POOLTAG_PRELOAD to a plain one"
	fi
	[ -x "$UP/leaky" ] || fail "no $UP/leaky: build the tests first (make test)"
}

teardown() {
	pt_teardown
}

# runp ARGS...: pooltag run with separate stdout and stderr, like ptrun.
runp() {
	local i
	run --separate-stderr timeout -k 5 300 "$PT" run "$@"
}

leaky_lines() {
	L_MALLOC=$(src_line tests/uprogs/leaky.c '/* LEAK malloc */')
	L_CALLOC=$(src_line tests/uprogs/leaky.c '/* LEAK calloc */')
	L_STRDUP=$(src_line tests/uprogs/leaky.c '/* LEAK strdup */')
	L_WRAPPED=$(src_line tests/uprogs/leaky.c '/* LEAK wrapped */')
	L_WRAPPER=$(src_line tests/uprogs/leaky.c '/* WRAPPER line */')
	L_OPEN=$(src_line tests/uprogs/leaky.c '/* LEAK open */')
	L_SOCKET=$(src_line tests/uprogs/leaky.c '/* LEAK socket */')
	L_PIPE=$(src_line tests/uprogs/leaky.c '/* LEAK pipe */')
	L_FOPEN=$(src_line tests/uprogs/leaky.c '/* LEAK fopen */')
	L_CLOSED=$(src_line tests/uprogs/leaky.c '/* CLOSED open */')
}

@test "run: a leaking program's blocks and descriptors are reported at the lines that took them" {
	leaky_lines
	runp -- "$UP/leaky"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ ${lines[0]} == "pid "* ]]
	# Lost: main's frame is dead once main returned.
	has_line "^pooltag: leaky \(pid [0-9]+\) exit: [0-9]+ findings?: lost 4 blocks \(1407 bytes\) in 4 groups, 5 descriptors open, 0 bad frees, 0 misuse reports(; still reachable: [0-9]+ blocks, [0-9]+ bytes)?$"
	has_line "^    1 block, 1000 bytes lost \[Leak\] at leaky.c:$L_MALLOC in main$"
	has_line "^    1 block, 100 bytes lost \[Leak\] at leaky.c:$L_CALLOC in main$"
	# strdup is a wrapper: its caller is charged, not libc.
	has_line "^    1 block, 7 bytes lost \[Leak\] at leaky.c:$L_STRDUP in make_name$"
	# The program's own wrapper heads its group until it is named with --skip.
	has_line "^    1 block, 300 bytes lost \[Leak\] at leaky.c:$L_WRAPPER in my_xalloc$"
	has_line "^        #0 leaky.c:$L_WRAPPER in my_xalloc$"
	has_line "^        #1 leaky.c:$L_WRAPPED in main$"
	# fopen's FILE is still reachable (libc lists its open streams).
	has_line "^  still reachable: 2 blocks, [0-9]+ bytes in 2 groups \(no finding; --show-reachable lists them\)$"
	has_line "^    fd [0-9]+ \[File\] /dev/null opened by leaky at leaky.c:$L_OPEN in main$"
	has_line "^    fd [0-9]+ \[Sock\] socket:\[[0-9]+\] opened by leaky at leaky.c:$L_SOCKET in main$"
	has_line "^    fd [0-9]+ \[Pipe\] pipe:\[[0-9]+\] opened by leaky at leaky.c:$L_PIPE in main$"
	has_line "^    fd [0-9]+ \[File\] /dev/null opened by leaky at leaky.c:$L_FOPEN in main$"
	# Standard input, output and error were inherited: never listed.
	! [[ $stderr =~ "fd 0 " || $stderr =~ "fd 1 " || $stderr =~ "fd 2 " ]]
}

@test "run: --skip charges a wrapper's caller" {
	leaky_lines
	runp --skip 'my_x*' -- "$UP/leaky"
	[ "$status" -eq 0 ]
	has_line "^    1 block, 300 bytes lost \[Leak\] at leaky.c:$L_WRAPPED in main$"
	# The stack still shows the wrapper; the headline is its caller.
	has_line "^        #0 leaky.c:$L_WRAPPER in my_xalloc$"
	runp --skip 'my_x*' --show-reachable -- "$UP/leaky"
	# fopen's FILE is charged to the caller of fopen, not to libc.
	has_line "^    1 block, [0-9]+ bytes reachable \[Leak\] at leaky.c:$L_FOPEN in main$"
}

@test "run: --error-exitcode on findings; a clean run keeps the program's status" {
	runp --error-exitcode 9 -- "$UP/leaky"
	[ "$status" -eq 9 ] || fail "status $status"
	runp --error-exitcode 9 -- "$UP/leaky" clean
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ ${stderr_lines[0]} =~ ^pooltag:\ run:\ leaky\ pid\ [0-9]+\ \(\'pooltag\ used\ [0-9]+\'\ follows\ it\)$ ]] ||
		fail "no pid line first: $stderr"
	has_line "^pooltag: leaky \(pid [0-9]+\) exit: clean, nothing lost; still reachable: [0-9]+ blocks, [0-9]+ bytes$"
	[ "${#stderr_lines[@]}" -eq 2 ] || fail "more than the pid line and the verdict: $stderr"
	runp --quiet --error-exitcode 9 -- "$UP/leaky" clean
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "status $status, stderr: $stderr"
	runp -- sh -c 'exit 7'
	[ "$status" -eq 7 ] || fail "status $status"
}

@test "run: --output appends the report to a file" {
	runp -o "$PT_TMP/report" -- "$UP/leaky"
	[ "$status" -eq 0 ] && [ -z "$stderr" ] || fail "status $status, stderr: $stderr"
	grep -Eq "^pooltag: leaky \(pid [0-9]*\) exit: [0-9]+ findings: lost 4 blocks" "$PT_TMP/report"
}

@test "run: pooltag used, used --sites and refs read a running program by module and line" {
	leaky_lines
	prog_start lk "$PT" run -- "$UP/leaky" wait
	prog_expect lk 'pid [0-9]+'
	local pid=${REPLY#pid }
	prog_expect lk ready
	ptrun used "$pid"
	pt_ok
	assert_row "Leak" "0 0 5 1879" "Allocated by the program leaky , Binary: leaky"
	tag_row "c   " >/dev/null || fail "no row for libc's tag: $output"
	ptrun used 1 --sites Leak "$pid"
	pt_ok
	[[ $output == *"at leaky.c:$L_MALLOC in main"* ]] || fail "$output"
	[[ $output == *"at leaky.c:$L_STRDUP in make_name"* ]] || fail "$output"
	ptrun refs "$pid"
	pt_ok
	[[ $output =~ leaky\ +handles\ +Pipe\ +2\ +2\ +0\ +leaky.c:$L_PIPE\ in\ main ]] || fail "$output"
	[[ $output =~ leaky\ +handles\ +Sock\ +1\ +1\ +0\ +leaky.c:$L_SOCKET\ in\ main ]] || fail "$output"
	# Every close gave its handle back: the five descriptors left open
	# are all it holds, and the line that closed its three holds none.
	ptrun refs --all "$pid"
	pt_ok
	[ "${lines[0]}" = " pid $pid (leaky): 5 references and handles held" ] || fail "$output"
	[[ $output =~ leaky\ +handles\ +File\ +0\ +3\ +3\ +leaky.c:$L_CLOSED\ in\ main ]] || fail "$output"
	prog_send lk go
	prog_stop lk
}

@test "run: a tag map names modules' and functions' tags; a bad one is an error at its line" {
	printf '# tags for the test\nmodule leaky Lky1\nfunc make_* Name\n' >"$PT_TMP/map"
	runp --tags-map "$PT_TMP/map" -- "$UP/leaky"
	[ "$status" -eq 0 ] || fail "$stderr"
	has_line "^    1 block, 1000 bytes lost \[Lky1\] at leaky.c:"
	has_line "^    1 block, 7 bytes lost \[Name\] at leaky.c:[0-9]+ in make_name$"
	printf 'module leaky Lky1\nfunc x TOOLONG\n' >"$PT_TMP/bad"
	runp --tags-map "$PT_TMP/bad" -- "$UP/leaky"
	assert_error "run: .*/bad:2: a tag is 1 to 4 printable ASCII characters$"
	runp --tags-map "$PT_TMP/none" -- "$UP/leaky"
	assert_error "run: .*/none: No such file or directory$"
}

@test "run: dlclose of a plugin reports what its code still holds, by name after unload" {
	local la lo
	la=$(src_line tests/uprogs/libuplug.c '/* PLUGIN alloc */')
	lo=$(src_line tests/uprogs/libuplug.c '/* PLUGIN open */')
	runp -e 5 -- "$UP/dlhost" "$UP/libuplug.so" 10 leak
	[ "$status" -eq 5 ] || fail "status $status: $stderr"
	[ "$output" = closed ]
	has_line "^pooltag: libuplug.so \(pid [0-9]+\) unloaded: 2 findings: held 10 blocks \(640 bytes\) in 1 groups, 1 descriptors open, 0 bad frees, 0 misuse reports$"
	has_line "^    10 blocks, 640 bytes held \[uplu\] by libuplug.so \(unloaded\) at libuplug.c:$la in plug_work$"
	has_line "^    fd [0-9]+ \[File\] /dev/null opened by libuplug.so at libuplug.c:$lo in plug_work$"
	# At exit the blocks are lost; their stack keeps the unloaded object's names.
	has_line "^    10 blocks, 640 bytes lost \[uplu\] at libuplug.c:$la in plug_work$"
	has_line "^        #0 libuplug.c:$la in plug_work$"
	runp -e 5 -- "$UP/dlhost" "$UP/libuplug.so" 10 clean
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	has_line "^pooltag: libuplug.so \(pid [0-9]+\) unloaded: clean, nothing held$"
}

@test "run: threads: exact counts per site, the same results as a bare run" {
	local keep bare
	keep=$(src_line tests/uprogs/uthreads.c '/* KEEP line */')
	bare=$("$UP/uthreads" 4 100000 25)
	runp -- "$UP/uthreads" 4 100000 25
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "$bare" ] || fail "'$output' != '$bare'"
	has_line "^    100 blocks, 4800 bytes lost \[Uthr\] at uthreads.c:$keep in run$"
	has_line "exit: [0-9]+ findings?: lost 100 blocks \(4800 bytes\) in 1 groups, 0 descriptors open, 0 bad frees, 0 misuse reports(; still reachable: [0-9]+ blocks, [0-9]+ bytes)?$"
}

@test "run: fork and exec: the executed program is interposed only with --follow-exec" {
	runp -- "$UP/forkexec" "$UP/leaky"
	[ "$status" -eq 0 ] || fail "$stderr"
	[[ $output == *"child exited 0"* ]]
	! [[ $stderr =~ "pooltag: leaky" ]] || fail "leaky was interposed: $stderr"
	has_line "^pooltag: forkexec \(pid [0-9]+\) exit: clean, nothing lost"
	runp --follow-exec -- "$UP/forkexec" "$UP/leaky"
	[ "$status" -eq 0 ] || fail "$stderr"
	has_line "^pooltag: leaky \(pid [0-9]+\) exit: [0-9]+ findings: lost 4 blocks \(1407 bytes\)"
	has_line "^pooltag: forkexec \(pid [0-9]+\) exit: clean, nothing lost"
}

@test "run: the malloc family behaves as glibc's" {
	local bare
	bare=$("$UP/semantics")
	runp -- "$UP/semantics"
	[ "$status" -eq 0 ] || fail "$output $stderr"
	[ "$output" = "$bare" ] || fail "differs from the bare run:"$'\n'"$output"
	! [[ $output == *FAILED* ]]
}

@test "run: usage errors and programs that cannot be run" {
	runp
	assert_usage_error "run: no program to run"
	runp --error-exitcode 0 -- true
	assert_usage_error "run: --error-exitcode wants 1 to 255"
	runp --track all -- true
	assert_usage_error "run: --track wants 'none', 'blocks' or 'stacks'"
	runp --bogus -- true
	assert_usage_error "run: option '--bogus' is unknown"
	run -127 --separate-stderr timeout 60 "$PT" run -- no-such-program-here
	[ "$status" -eq 127 ] && [ "${#stderr_lines[@]}" -eq 1 ] || fail "$status $stderr"
	[[ ${stderr_lines[0]} == "pooltag: run: no-such-program-here: command not found" ]]
	runp -o /nonexistent/dir/report -- true
	assert_error "run: cannot write /nonexistent/dir/report"
	printf 'int main(void) { return 0; }\n' >"$PT_TMP/st.c"
	if cc -static -o "$PT_TMP/st" "$PT_TMP/st.c" 2>/dev/null; then
		runp -- "$PT_TMP/st"
		assert_error "run: .*/st is statically linked"
	fi
}

@test "run: python3 runs a script with the same output" {
	[ -x /usr/bin/python3 ] || skip "no /usr/bin/python3"
	cat >"$PT_TMP/s.py" <<'PY'
import json, hashlib, collections, threading
d = {str(i): [j * j for j in range(i % 50)] for i in range(20000)}
print(hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest())
out = []
ts = [threading.Thread(target=lambda k=k: out.append(sum(range(k * 1000)))) for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
print(sorted(out), collections.Counter(len(v) for v in d.values()).most_common(2))
PY
	local bare
	bare=$(/usr/bin/python3 "$PT_TMP/s.py")
	runp -- /usr/bin/python3 "$PT_TMP/s.py"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "$bare" ] || fail "'$output' != '$bare'"
	last_line "^pooltag: python3 \(pid [0-9]+\) exit: (clean|[0-9]+ findings?)"
}

@test "run: sqlite3 answers queries with the same output" {
	command -v sqlite3 >/dev/null || skip "no sqlite3 (scripts/deps.sh installs it)"
	cat >"$PT_TMP/q.sql" <<'SQL'
create table t(a integer primary key, b text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 20000)
insert into t select x, printf('%08x', x * 2654435761 % 4294967296) from c;
create index ib on t(b);
select count(*), sum(a), min(b), max(b) from t;
select a, b from t where b like 'ff%' order by b limit 5;
SQL
	local bare
	bare=$(sqlite3 "$PT_TMP/bare.db" <"$PT_TMP/q.sql")
	run --separate-stderr timeout 300 "$PT" run -- sqlite3 "$PT_TMP/run.db" <"$PT_TMP/q.sql"
	[ "$status" -eq 0 ] || fail "$stderr"
	[ "$output" = "$bare" ] || fail "'$output' != '$bare'"
	last_line "^pooltag: sqlite3 \(pid [0-9]+\) exit: (clean|[0-9]+ findings?)"
}

@test "run: git log and status in a repository give the same output" {
	command -v git >/dev/null || skip "no git"
	local repo=$PT_TMP/repo bare
	git init -q "$repo"
	printf 'one\n' >"$repo/a"
	printf 'two\n' >"$repo/b"
	git -C "$repo" add a b
	git -C "$repo" -c user.name=T -c user.email=t@example.org commit -qm first
	printf 'changed\n' >>"$repo/a"
	printf 'new\n' >"$repo/c"
	for args in "log --stat" "status --short" "diff"; do
		bare=$(git -C "$repo" $args)
		runp -- git -C "$repo" $args
		[ "$status" -eq 0 ] || fail "git $args: $stderr"
		[ "$output" = "$bare" ] || fail "git $args: '$output' != '$bare'"
		last_line "^pooltag: git \(pid [0-9]+\) exit: (clean|[0-9]+ findings?)"
	done	# Debian's git is stripped: its frames are offsets, and the report says
	# once why and where names would come from.
	local gitbin bid
	gitbin=$(readlink -f "$(command -v git)")
	bid=$(readelf -n "$gitbin" 2>/dev/null | sed -n 's/.*Build ID: //p')
	if ! readelf -S "$gitbin" | grep -q '\.symtab' &&
		[ ! -e "/usr/lib/debug/.build-id/${bid:0:2}/${bid:2}.debug" ]; then
		runp -r -- git -C "$repo" log
		has_line "^        #0 git\+0x[0-9a-f]+$"
		has_line "^  git\+0x\.\.\.: git has no symbol table nor debug information here \(stripped\): install"
	fi
}

@test "run: gcc compiles a file, followed through cc1, as and ld, and the result runs" {
	command -v gcc >/dev/null || skip "no gcc"
	printf '#include <stdio.h>\nint main(void) { long s = 0; for (int i = 0; i < 1000; i++) s += i * i; printf("%%ld\\n", s); return 0; }\n' >"$PT_TMP/m.c"
	gcc -O2 -o "$PT_TMP/bare" "$PT_TMP/m.c"
	runp --follow-exec -- gcc -O2 -o "$PT_TMP/ran" "$PT_TMP/m.c"
	[ "$status" -eq 0 ] || fail "$stderr"
	has_line "^pooltag: cc1 \(pid [0-9]+\) exit"
	has_line "^pooltag: gcc \(pid [0-9]+\) exit"
	[ "$("$PT_TMP/ran")" = "$("$PT_TMP/bare")" ]
	[ "$("$PT_TMP/ran")" = 332833500 ]
}

@test "run: a program closing every descriptor cannot close the segment's" {
	runp -- "$UP/closefds" "$PT_TMP/data"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = "size 10" ] || fail "$output"
	[ "$(stat -c %s "$PT_TMP/data")" = 10 ]
	has_line "^pooltag: closefds \(pid [0-9]+\) exit: clean, nothing lost"
}

@test "run: stacks by default; --no-stacks groups per site; --track none only counts" {
	leaky_lines
	runp -- "$UP/leaky"
	[ "$status" -eq 0 ] || fail "$stderr"
	has_line "^        #0 leaky.c:$L_MALLOC in main$"
	runp --no-stacks -- "$UP/leaky"
	[ "$status" -eq 0 ] || fail "$stderr"
	has_line "^    1 block, 300 bytes lost \[Leak\] at leaky.c:$L_WRAPPER in my_xalloc$"
	! [[ $stderr =~ "#0 " ]] || fail "a stack without stacks: $stderr"
	# Counting only: no scan, what is live is held.
	runp --track none -- "$UP/leaky"
	[ "$status" -eq 0 ] || fail "$stderr"
	has_line "^  memory held:$"
	has_line "^pooltag: leaky \(pid [0-9]+\) exit: 10 findings: held 5 blocks \(1879 bytes\) in 5 groups, 5 descriptors open, 0 bad frees, 0 misuse reports$"
	has_line "^    1 block, 1000 bytes held \[Leak\] at leaky.c:$L_MALLOC in main$"
}

@test "run: pooltag faults fails each allocation of an unmodified program and finds its error-path leak" {
	local first second
	first=$(src_line tests/uprogs/errpath.c '/* FIRST */')
	second=$(src_line tests/uprogs/errpath.c '/* SECOND */')
	ptrun faults -c fail.module=errpath -- "$PT" run -q -- "$UP/errpath"
	[ "$status" -eq 1 ] || fail "status $status: $output $stderr"
	[[ ${lines[0]} == "pooltag faults: $UP/errpath: 2 acquisitions, 3 runs in "*", 1 finding" ]] || fail "$output"
	# Without pooltag run: an unmodified program is interposed by itself.
	ptrun faults -c fail.module=errpath -- "$UP/errpath"
	[ "$status" -eq 1 ] || fail "status $status: $output $stderr"
	[[ ${lines[0]} == "pooltag faults: $UP/errpath: 2 acquisitions, 3 runs in "*", 1 finding" ]] || fail "$output"
	[[ $output == *"failing the allocation of 'Errp' at errpath.c:$second in label:"* ]] || fail "$output"
	[[ $output == *"errpath holds 1 block of 'Errp' (64 bytes) allocated at errpath.c:$first in label"* ]] ||
		fail "$output"
	# Random failures of the program's own allocations, from POOLTAG.
	run --separate-stderr env POOLTAG=fail=100%,fail.module=errpath "$PT" run -q -- "$UP/errpath"
	[ "$output" = "out of memory" ] || fail "$output $stderr"
}

@test "run: the special pool catches an unmodified program's overrun and use after free" {
	local alloc over use
	alloc=$(src_line tests/uprogs/overrun.c '/* ALLOC */')
	over=$(src_line tests/uprogs/overrun.c '/* OVERRUN')
	use=$(src_line tests/uprogs/overrun.c '/* USE')
	run --separate-stderr env POOLTAG=special=Over,verify=continue "$PT" run -e 5 -- "$UP/overrun" over
	# The overrun is a finding: -e counts it.
	[ "$status" -eq 5 ] || fail "status $status: $stderr"
	has_line "^  1 misuse report above \(the special pool's, bad frees\)$"
	[ "$output" = "done" ] || fail "$output"
	has_line "^pooltag: special pool: write at 0x[0-9a-f]+, an overrun of block 0x[0-9a-f]+ \(tag 'Over', 24 bytes\): offset 32 \(8 bytes past its end\)"
	has_line "accessed at main \(overrun.c:$over\)"
	has_line "allocated at overrun.c:$alloc \(main\)"
	run --separate-stderr env POOLTAG=special=Over,verify=exit "$PT" run -- "$UP/overrun" uaf
	[ "$status" -eq 86 ] || fail "status $status: $stderr"
	has_line "a use after free of block 0x[0-9a-f]+ \(tag 'Over', 24 bytes\): offset 0"
	has_line "accessed at main \(overrun.c:$use\)"
	# Selection by tag: another tag's blocks stay ordinary.
	run --separate-stderr env POOLTAG=special=Othr,verify=continue "$PT" run -q -- "$UP/overrun" over
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[[ $stderr != *"special pool"* ]] || fail "$stderr"
}

@test "run: double frees of blocks whose pages went back to the system are counted, not a crash" {
	# A block above glibc's largest mmap threshold is unmapped on free.
	runp -- "$UP/dblfree" large
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = "done" ] || fail "$output"
	has_line "^    1 at dblfree.c:[0-9]+ in main \\(first 0x[0-9a-f]+, freed twice: a block (of [0-9]+ bytes )?allocated at .*dblfree.c:[0-9]+ in main\\)$"
	runp -- "$UP/dblfree" merged
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = "done" ] || fail "$output"
	has_line "^    1 at dblfree.c:[0-9]+ in main \\(first 0x[0-9a-f]+, freed twice: a block (of [0-9]+ bytes )?allocated at .*dblfree.c:[0-9]+ in main\\)$"
	# A special block evicted from a quarantine of one is unmapped too.
	run --separate-stderr env POOLTAG=special=Dblf,special.quarantine=1:1G,verify=continue \
		timeout -k 5 300 "$PT" run -- "$UP/dblfree" special
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = "done" ] || fail "$output"
	has_line "^    1 at dblfree.c:[0-9]+ in main \\(first 0x[0-9a-f]+, freed twice: a block (of [0-9]+ bytes )?allocated at .*dblfree.c:[0-9]+ in main\\)$"
}
