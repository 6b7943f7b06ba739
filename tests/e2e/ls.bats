#!/usr/bin/env bats
# `pooltag ls`: the processes exporting counters, stale segments and
# `ls --clean`; and the segment file itself: its name, mode, owner and
# removal at exit.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

LS_HEADER="     PID  STATE    TAGS  OUTSTANDING  COMMAND"

# ls_line PID STATE TAGS OUTSTANDING COMMAND...: the row ls prints.
ls_line() {
	printf '%8d  %-6s %6s %12s  %s' "$1" "$2" "$3" "$4" "$5"
}

STALE_NOTE=" (exited; 'pooltag ls --clean' removes it)"

@test "ls: nothing to list" {
	ptrun ls
	pt_ok
	[ "$output" = "$LS_HEADER" ]
	ptrun ls --clean
	pt_ok
	[ "${lines[1]}" = "removed 0 stale segments" ]
}

@test "ls: a live process with its tag count and outstanding bytes" {
	tagged_start
	tagged_work 10
	ptrun ls
	pt_ok
	[ "${lines[0]}" = "$LS_HEADER" ]
	[ "${lines[1]}" = "$(ls_line "$TPID" live 4 "560 B" tagged)" ]
	[ "${#lines[@]}" -eq 2 ]
	tagged_work 990
	ptrun ls
	pt_ok
	# 56000 bytes.
	[ "${lines[1]}" = "$(ls_line "$TPID" live 4 "54.7 KiB" tagged)" ]
}

@test "ls: several processes, by pid" {
	tagged_start a
	a=$TPID
	tagged_work 2 a
	tagged_start b
	b=$TPID
	tagged_work 3 b
	prog_start th "$PROGS/threads" 1
	prog_expect th 'pid [0-9]+'
	th=${REPLY#pid }
	prog_expect th running
	prog_send th stop
	for i in 1 2 3; do prog_expect th 'total .*'; done
	prog_expect th quiescent
	ptrun ls
	pt_ok
	want=$( (
		echo "$(ls_line "$a" live 4 "112 B" tagged)"
		echo "$(ls_line "$b" live 4 "168 B" tagged)"
		echo "$(ls_line "$th" live 3 "0 B" threads)"
	) | sort -n)
	[ "$(printf '%s\n' "${lines[@]:1}")" = "$want" ]
}

@test "ls: the segment is POOLTAG_DIR/pooltag-PID, mode 0600, ours, gone after quit" {
	tagged_start
	tagged_work 1
	seg=$(seg_of "$TPID")
	[ -f "$seg" ]
	[ "$(stat -c '%a %u %g' "$seg")" = "600 $(id -u) $(id -g)" ]
	[ "$(ls -A "$POOLTAG_DIR")" = "pooltag-$TPID" ]
	# Nothing in /dev/shm: POOLTAG_DIR is honoured.
	[ ! -e "/dev/shm/pooltag-$TPID" ]
	# "quit" frees everything and exits normally (status 0), which unlinks.
	prog_send t quit
	prog_stop t
	[ ! -e "$seg" ]
	ptrun ls
	pt_ok
	[ "$output" = "$LS_HEADER" ]
}

@test "ls: a killed process's segment is stale; ls --clean removes only it" {
	tagged_start a
	a=$TPID
	tagged_work 10 a
	tagged_start b
	b=$TPID
	tagged_work 20 b
	kill -9 "$a"
	prog_stop a || true
	[ -f "$(seg_of "$a")" ]
	ptrun ls
	pt_ok
	[ "$(printf '%s\n' "${lines[@]}" | grep "^ *$a ")" = "$(ls_line "$a" stale 4 "560 B" tagged)$STALE_NOTE" ]
	[ "$(printf '%s\n' "${lines[@]}" | grep "^ *$b ")" = "$(ls_line "$b" live 4 "1.1 KiB" tagged)" ]
	ptrun ls --clean
	pt_ok
	[ "${lines[0]}" = "$LS_HEADER" ]
	[ "${lines[1]}" = "$(ls_line "$b" live 4 "1.1 KiB" tagged)" ]
	[ "${lines[2]}" = "removed 1 stale segment" ]
	[ "${#lines[@]}" -eq 3 ]
	[ ! -e "$(seg_of "$a")" ]
	[ -f "$(seg_of "$b")" ]
	ptrun ls
	pt_ok
	[ "${#lines[@]}" -eq 2 ]
	# The live one still reads.
	ptrun used -v "$b"
	pt_ok
	assert_row "Hdr " "0 0 0 0 20 0 20 1120"
}

@test "ls: a segment whose pid runs another program is stale" {
	tagged_start
	tagged_work 4
	bg_sleep
	cp "$(seg_of "$TPID")" "$(seg_of "$SLEEP_PID")"
	ptrun ls
	pt_ok
	[ "$(printf '%s\n' "${lines[@]}" | grep "^ *$SLEEP_PID ")" = "$(ls_line "$SLEEP_PID" stale 4 "224 B" tagged)$STALE_NOTE" ]
	ptrun ls --clean
	pt_ok
	[ ! -e "$(seg_of "$SLEEP_PID")" ]
	[ -f "$(seg_of "$TPID")" ]
}

@test "ls: other files in the directory are left alone" {
	tagged_start
	tagged_work 1
	touch "$POOLTAG_DIR/other" "$POOLTAG_DIR/pooltag-" "$POOLTAG_DIR/pooltag-abc" \
		"$POOLTAG_DIR/pooltag-0" "$POOLTAG_DIR/pooltag-12.x" "$POOLTAG_DIR/pooltag-012"
	mkdir "$POOLTAG_DIR/pooltag-77"
	ln -s "$(seg_of "$TPID")" "$POOLTAG_DIR/pooltag-88"
	ptrun ls --clean
	pt_ok
	[ "${lines[1]}" = "$(ls_line "$TPID" live 4 "56 B" tagged)" ]
	[ "${lines[2]}" = "removed 0 stale segments" ]
	[ "${#lines[@]}" -eq 3 ]
	[ "$(ls -A "$POOLTAG_DIR" | wc -l)" -eq 9 ]
}

@test "ls: a corrupt segment is shown as bad, the others still listed" {
	tagged_start a
	tagged_work 1 a
	a=$TPID
	tagged_start b
	tagged_work 1 b
	printf 'NOTMAGIC' | dd of="$(seg_of "$a")" bs=1 seek=0 conv=notrunc status=none
	ptrun ls
	pt_ok
	[ "$(printf '%s\n' "${lines[@]}" | grep "^ *$a ")" = "$(ls_line "$a" bad - - "(corrupt segment $(seg_of "$a"): not a pooltag segment (bad magic))")" ]
	[ "$(printf '%s\n' "${lines[@]}" | grep "^ *$TPID ")" = "$(ls_line "$TPID" live 4 "56 B" tagged)" ]
}

@test "ls: another user's segments are neither shown nor removed" {
	need_nobody
	tagged_start
	tagged_work 1
	kill -9 "$TPID"
	prog_stop t || true
	chmod 755 "$PT_TMP" "$POOLTAG_DIR"
	run --separate-stderr timeout 60 "${NOBODY[@]}" "$NOBODY_PT" ls --clean
	pt_ok
	[ "${lines[0]}" = "$LS_HEADER" ]
	[ "${lines[1]}" = "removed 0 stale segments" ]
	[ -f "$(seg_of "$TPID")" ]
	ptrun ls
	pt_ok
	[[ ${lines[1]} == *" stale "* ]]
}

@test "ls: bad arguments and an unreadable directory" {
	ptrun ls --foo
	assert_usage_error "ls: unknown argument '--foo'"
	POOLTAG_DIR="$PT_TMP/nonexistent" ptrun ls
	assert_error "cannot list $PT_TMP/nonexistent: No such file or directory"
}

@test "ls --clean never removes the segment of a live process, even a corrupt one" {
	tagged_start
	tagged_work 3
	seg=$(seg_of "$TPID")
	# Stop it, so it does not fault on the pages cut off; teardown kills it.
	kill -STOP "$TPID"
	PT_PIDS+=("$TPID")
	truncate -s 100 "$seg"
	grep -q " $seg" "/proc/$TPID/maps" # the process still maps it
	ptrun ls
	pt_ok
	[ "${lines[1]}" = "$(ls_line "$TPID" bad - - "(corrupt segment $seg: shorter than its header)")" ]
	ptrun ls --clean
	pt_ok
	[ -e "$seg" ] || fail "ls --clean removed the segment of live process $TPID"
	[ "${lines[2]}" = "removed 0 stale segments" ]
}
