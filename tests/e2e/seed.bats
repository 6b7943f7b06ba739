#!/usr/bin/env bats
# The seed's scenario (examples/seed, `make demo`): a host with process
# objects loads a driver plugin whose get_process_image_path() leaks a
# reference and a handle on its error branches.  After a stress of N
# processes and the driver's unload, the unload report, `pooltag used` and
# `pooltag refs` must name the driver, the object type, the count and the
# two lines; the fixed driver must leave nothing.

load helpers

SEED="$PT_BUILD/examples/seed"
N=600 # processes per run: a few seconds even under the sanitizers

setup() {
	pt_setup
	local f
	for f in host libsey.so libsey_fixed.so; do
		[ -e "$SEED/$f" ] || fail "no $SEED/$f: build the seed demo first (make all)"
	done
	LOOKUP_LINE=$(src_line examples/seed/procpath.c '/* takes a reference */')
	OPEN_LINE=$(src_line examples/seed/procpath.c '/* opens a handle */')
}

teardown() {
	pt_teardown
}

# The processes the buggy driver leaks out of n: all but those that take
# the success path, whose image path is short (one in 128, the first
# included) and whose pid (1000 + 4i) the host does not refuse (pid % 97).
expected_leaks() {
	local n=$1 k ok=0
	for ((k = 0; k < n; k += 128)); do
		(((1000 + 4 * k) % 97 != 0)) && ok=$((ok + 1))
	done
	echo $((n - ok))
}

# seed_start DRIVER [COUNT]: runs the host with DRIVER (a file name in
# $SEED) as program "h" and reads its output until it waits after the
# unload.  Sets HPID, LEAKED (process objects not deleted) and FINDINGS.
seed_start() {
	HPID= LEAKED= FINDINGS=
	prog_start h "$SEED/host" "$SEED/$1" "${2:-$N}"
	while prog_read h; do
		if [[ $REPLY =~ ([0-9]+)\ process\ objects\ not\ deleted ]]; then
			LEAKED=${BASH_REMATCH[1]}
		elif [[ $REPLY =~ ^host:\ unloaded\ $1:\ ([0-9]+)\ finding ]]; then
			FINDINGS=${BASH_REMATCH[1]}
		elif [[ $REPLY =~ ^host:\ driver\ unloaded\;\ pid\ ([0-9]+)\ waiting ]]; then
			HPID=${BASH_REMATCH[1]}
			break
		fi
	done
	[ -n "$HPID" ] || fail "host did not reach the wait; stderr: $(cat "$PT_TMP/h.err")" || return 1
	[ "$HPID" = "${PROG_PID[h]}" ] || fail "host says pid $HPID, we started ${PROG_PID[h]}" || return 1
	[ -n "$LEAKED" ] && [ -n "$FINDINGS" ] || fail "host output lacks the counts"
}

# seed_end LEAKS: presses Enter; the host must release the LEAKS handles
# and references the driver left, delete every process object and exit 0
# (its segment removed).
seed_end() {
	prog_send h "" || return 1
	prog_expect h "host: closed $1 leaked handles?, released the references held on $1 process objects?" ||
		return 1
	prog_expect h 'host: all process objects deleted; exiting' || return 1
	prog_stop h || fail "host exited with status $?" || return 1
	wait_file_gone "$(seg_of "$HPID")"
}

# report_has TEXT...: one line of the unload report (the host's stderr)
# holds every TEXT.
report_has() {
	local l t ok
	while IFS= read -r l; do
		ok=1
		for t in "$@"; do
			[[ $l == *"$t"* ]] || ok=
		done
		[ -z "$ok" ] || return 0
	done <"$PT_TMP/h.err"
	fail "no line of the unload report holds all of: $*"$'\n'"$(cat "$PT_TMP/h.err")"
}

# nums_of TAG: sets NP_ALLOCS NP_FREES NP_DIFF NP_USED PG_ALLOCS PG_FREES
# PG_DIFF PG_USED from TAG's row of a verbose table in $output.
nums_of() {
	local n
	n=$(row_nums "$1") || return 1
	read -r NP_ALLOCS NP_FREES NP_DIFF NP_USED PG_ALLOCS PG_FREES PG_DIFF PG_USED <<<"$n"
	[ -n "$PG_USED" ] || fail "row of '$1' has fewer than 8 numbers: $n"
}

@test "seed: the unload report names libsey.so, Proc, the count and procpath.c's two lines" {
	seed_start libsey.so
	leaks=$(expected_leaks "$N")
	[ "$LEAKED" -eq "$leaks" ] || fail "host: $LEAKED objects not deleted, expected $leaks"
	[ "$FINDINGS" -ge 2 ] || fail "pt_module_unload returned $FINDINGS findings"
	report_has libsey.so "$leaks references" "'Proc'" "procpath.c:$LOOKUP_LINE" get_process_image_path
	report_has libsey.so "$leaks handles" "'Proc'" "procpath.c:$OPEN_LINE" get_process_image_path
	# Nothing of the driver's own allocations is held.
	! grep -q 'blocks of' "$PT_TMP/h.err" || fail "unexpected held blocks: $(cat "$PT_TMP/h.err")"
	# On Enter the host reclaims what the driver left and exits cleanly.
	seed_end "$leaks"
}

@test "seed: pooltag used shows Proc, SeTd and SePa held, every SEY tag balanced" {
	seed_start libsey.so
	leaks=$(expected_leaks "$N")
	ptrun used 1 "$HPID"
	pt_ok
	# The process objects: N created in the non-paged pool, only the
	# success path's ones deleted.
	nums_of Proc
	[ "$NP_ALLOCS $NP_FREES $NP_DIFF" = "$N $((N - leaks)) $leaks" ] ||
		fail "Proc: $NP_ALLOCS allocs, $NP_FREES frees, $NP_DIFF diff; expected $N, $((N - leaks)), $leaks"
	[ "$NP_USED" -gt 0 ] || fail "Proc: no bytes held: $(tag_row Proc)"
	[ "$PG_ALLOCS" -eq 0 ] || fail "Proc in the paged pool: $(tag_row Proc)"
	# What hangs off a live process object: one image name (SePa), one
	# token in each pool (SeTd); both also churn heavily and in balance.
	nums_of SePa
	[ "$NP_DIFF" -eq "$leaks" ] || fail "SePa outstanding $NP_DIFF, expected $leaks"
	[ "$NP_ALLOCS" -gt $((10 * N)) ] || fail "SePa: only $NP_ALLOCS allocations"
	nums_of SeTd
	[ "$NP_DIFF $PG_DIFF" = "$leaks $leaks" ] || fail "SeTd outstanding $NP_DIFF/$PG_DIFF, expected $leaks"
	[ "$PG_ALLOCS" -gt $((10 * N)) ] || fail "SeTd: only $PG_ALLOCS paged allocations"
	# The driver's own tags: all thirteen used, none holding anything.
	for tag in SEY1 SEY2 SEY3 SEY4 SEY5 SEY6 SEY7 SEY8 SEY9 SEYA SEYB SEYC SEYD; do
		nums_of "$tag"
		[ $((NP_ALLOCS + PG_ALLOCS)) -gt 0 ] || fail "$tag: no allocation"
		[ "$NP_DIFF $NP_USED $PG_DIFF $PG_USED" = "0 0 0 0" ] ||
			fail "$tag not balanced: $(tag_row "$tag")"
		[ "$NP_ALLOCS $PG_ALLOCS" = "$NP_FREES $PG_FREES" ] || fail "$tag: $(tag_row "$tag")"
	done
	# One image path buffer per process creation.
	nums_of SEY5
	[ "$NP_ALLOCS" -eq "$N" ] || fail "SEY5: $NP_ALLOCS allocations for $N processes"
	# The driver's tags are in no tag file: the description names their sites.
	[[ $(tag_row SEYC) == *"Allocated in "*"(examples/seed/sey.c)"* ]] ||
		fail "SEYC's description: $(tag_row SEYC)"
	seed_end "$leaks"
}

@test "seed: pooltag refs names the driver's module, the tag and both lines" {
	seed_start libsey.so
	leaks=$(expected_leaks "$N")
	ptrun refs "$HPID"
	pt_ok
	ref_re="^ +libsey\.so +refs +Proc +$leaks +$N +$((N - leaks)) +.*procpath\.c:$LOOKUP_LINE in get_process_image_path$"
	handle_re="^ +libsey\.so +handles +Proc +$leaks +$N +$((N - leaks)) +.*procpath\.c:$OPEN_LINE in get_process_image_path$"
	found_ref= found_handle=
	for l in "${lines[@]}"; do
		[[ $l =~ $ref_re ]] && found_ref=1
		[[ $l =~ $handle_re ]] && found_handle=1
	done
	[ -n "$found_ref" ] || fail "no reference row for procpath.c:$LOOKUP_LINE in:"$'\n'"$output"
	[ -n "$found_handle" ] || fail "no handle row for procpath.c:$OPEN_LINE in:"$'\n'"$output"
	seed_end "$leaks"
}

@test "seed: with POOLTAG_VERIFY=1 the buggy driver's unload stops the host with status 86" {
	run --separate-stderr env POOLTAG_VERIFY=1 timeout -k 5 120 "$SEED/host" "$SEED/libsey.so" 300 </dev/null
	[ "$status" -eq 86 ] || fail "exit status $status, expected 86; stderr: $stderr"
	leaks=$(expected_leaks 300)
	[[ $stderr == *"$leaks references"* && $stderr == *"procpath.c:$LOOKUP_LINE"* ]] ||
		fail "the report does not name the references: $stderr"
	[[ $stderr == *"$leaks handles"* && $stderr == *"procpath.c:$OPEN_LINE"* ]] ||
		fail "the report does not name the handles: $stderr"
	# It stopped at the unload: it never waited for Enter.
	[[ $output != *waiting* ]] || fail "the host went on after the finding: $output"
}

@test "seed: the fixed driver leaves nothing: clean unload, Proc, SeTd and SePa all freed" {
	seed_start libsey_fixed.so
	[ "$LEAKED" -eq 0 ] || fail "host: $LEAKED process objects not deleted"
	[ "$FINDINGS" -eq 0 ] || fail "pt_module_unload returned $FINDINGS findings"
	report_has libsey_fixed.so clean
	! grep -q holds "$PT_TMP/h.err" || fail "unexpected finding: $(cat "$PT_TMP/h.err")"
	ptrun used 1 "$HPID"
	pt_ok
	nums_of Proc
	[ "$NP_ALLOCS $NP_FREES $NP_DIFF $NP_USED" = "$N $N 0 0" ] || fail "Proc: $(tag_row Proc)"
	for tag in SePa SeTd SEY1 SEY4 SEYC; do
		nums_of "$tag"
		[ "$NP_DIFF $NP_USED $PG_DIFF $PG_USED" = "0 0 0 0" ] || fail "$tag: $(tag_row "$tag")"
	done
	ptrun refs "$HPID"
	pt_ok
	[[ $output != *libsey* ]] || fail "references still held: $output"
	seed_end 0
}

@test "seed: with POOLTAG_VERIFY=1 the fixed driver runs to the end, status 0" {
	run --separate-stderr env POOLTAG_VERIFY=1 timeout -k 5 120 "$SEED/host" "$SEED/libsey_fixed.so" 300 </dev/null
	[ "$status" -eq 0 ] || fail "exit status $status; stderr: $stderr"
	[[ $stderr == *"libsey_fixed.so unloaded: clean"* ]] || fail "stderr: $stderr"
	[[ $output == *"host: all process objects deleted; exiting" ]] || fail "stdout: $output"
}

@test "seed: the host refuses a missing driver and a bad count" {
	run --separate-stderr "$SEED/host" "$PT_TMP/nothing.so" 10 </dev/null
	[ "$status" -eq 1 ] && [[ $stderr == "host: cannot load $PT_TMP/nothing.so: "* ]] ||
		fail "status $status, stderr: $stderr"
	run --separate-stderr "$SEED/host" "$SEED/libsey.so" 0 </dev/null
	[ "$status" -eq 2 ] || fail "status $status, stderr: $stderr"
	run --separate-stderr "$SEED/host"
	[ "$status" -eq 2 ] && [[ $stderr == usage:* ]] || fail "status $status, stderr: $stderr"
}
