#!/usr/bin/env bats
# Every way `pooltag` can be pointed at the wrong thing: each must give
# exactly one line on stderr, "pooltag: " and the problem (FILE:LINE for
# snapshots), a status of 1 (2 for usage errors, with the usage), never a
# crash or a hang.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# patch_u32 FILE OFFSET VALUE / patch_u64: little-endian integers into a file.
patch_u32() {
	python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); f.write(struct.pack("<I", int(sys.argv[3], 0)))' "$@"
}

patch_u64() {
	python3 -c 'import struct, sys
with open(sys.argv[1], "r+b") as f:
    f.seek(int(sys.argv[2])); f.write(struct.pack("<Q", int(sys.argv[3], 0)))' "$@"
}

# Offsets in struct pt_seg_header (src/segfmt.h).
OFF_VERSION=8
OFF_HEADER_SIZE=12
OFF_MAX_SLOTS=112
OFF_SLOTS_OFF=128
OFF_SHARDS_OFF=152
OFF_NSLOTS=168
OFF_STRINGS_USED=180

# A live tagged with some counters and its segment in $SEG.
tagged_with_segment() {
	tagged_start
	tagged_work 5
	SEG=$(seg_of "$TPID")
	[ -f "$SEG" ]
}

# The one line the CLI prints for a corrupt live segment of $TPID.
assert_corrupt() {
	ptrun used "$TPID"
	assert_error "^pooltag: corrupt segment $SEG: $1$"
}

@test "no such process: a pid that cannot exist, and one that exited" {
	for pid in 999999999 2147483647 99999999999999999999 0; do
		ptrun used "$pid"
		assert_error "^pooltag: no such process: $pid$"
	done
	spawn /dev/null /dev/null /dev/null true
	dead=$SPAWNED
	wait "$dead"
	ptrun used "$dead"
	assert_error "^pooltag: no such process: $dead$"
	ptrun snap "$dead" -o "$PT_TMP/x.snap"
	assert_error "^pooltag: no such process: $dead$"
	[ ! -e "$PT_TMP/x.snap" ]
	ptrun diff "$dead" "$dead"
	assert_error "^pooltag: no such process: $dead$"
}

@test "not ours: another user's process is refused" {
	tagged_with_segment
	if [ "$(id -u)" -eq 0 ]; then
		need_nobody
		# The program runs as root; the CLI as nobody.
		run --separate-stderr timeout 60 "${NOBODY[@]}" "$NOBODY_PT" used "$TPID"
		assert_error "^pooltag: process $TPID belongs to uid 0, not to you"
		# A directory nobody could write to, so only the CLI's refusal stops it.
		chmod 711 "$PT_TMP"
		mkdir -m 777 "$PT_TMP/out"
		run --separate-stderr timeout 60 "${NOBODY[@]}" "$NOBODY_PT" snap "$TPID" -o "$PT_TMP/out/x.snap"
		assert_error "^pooltag: process $TPID belongs to uid 0, not to you"
		[ -z "$(ls -A "$PT_TMP/out")" ]
	else
		[ "$(stat -c %u /proc/1)" != "$(id -u)" ] || skip "no process of another user to try"
		ptrun used 1
		assert_error "^pooltag: process 1 belongs to uid $(stat -c %u /proc/1), not to you"
	fi
}

@test "no segment: a process not linked with pooltag" {
	bg_sleep
	ptrun used "$SLEEP_PID"
	assert_error "^pooltag: process $SLEEP_PID does not export pooltag counters"
	ptrun used -v "$$"
	assert_error "^pooltag: process $$ does not export pooltag counters"
}

@test "no segment: POOLTAG_EXPORT=0 keeps the counters private" {
	POOLTAG_EXPORT=0 tagged_start
	tagged_work 5
	[ -z "$(ls -A "$POOLTAG_DIR")" ]
	ptrun used "$TPID"
	assert_error "^pooltag: process $TPID does not export pooltag counters .*POOLTAG_EXPORT=0"
}

@test "stale: the segment of a pid now running another program" {
	tagged_with_segment
	bg_sleep
	cp "$SEG" "$(seg_of "$SLEEP_PID")"
	ptrun used "$SLEEP_PID"
	# No process holds it, and the one it names is not at that pid: the
	# same diagnosis as ls gives.
	assert_error "^pooltag: stale segment $(seg_of "$SLEEP_PID"): process $SLEEP_PID has exited; .*'pooltag ls --clean' removes it$"
	ptrun snap "$SLEEP_PID" -o "$PT_TMP/x.snap"
	assert_error "^pooltag: stale segment"
}

@test "stale: the segment of a killed process" {
	tagged_with_segment
	kill -9 "$TPID"
	prog_stop t || true
	[ -f "$SEG" ]
	# ls calls it stale ...
	ptrun ls
	pt_ok
	[[ ${lines[1]} =~ ^\ *$TPID\ +stale\  ]]
	# ... and so must used: the counters are there, the process is gone.
	ptrun used "$TPID"
	assert_error "^pooltag: stale segment $SEG: process $TPID .*'pooltag ls --clean' removes it$"
}

@test "corrupt segment: bad magic" {
	tagged_with_segment
	printf 'XXXX' | dd of="$SEG" bs=1 seek=0 conv=notrunc status=none
	assert_corrupt "not a pooltag segment \(bad magic\)"
	ptrun snap "$TPID" -o "$PT_TMP/x.snap"
	assert_error "^pooltag: corrupt segment $SEG: not a pooltag segment \(bad magic\)$"
	[ ! -e "$PT_TMP/x.snap" ]
	ptrun diff "$TPID" "$TPID"
	assert_error "^pooltag: corrupt segment $SEG: not a pooltag segment"
}

@test "corrupt segment: correct magic, absurd geometry" {
	tagged_with_segment
	cp "$SEG" "$PT_TMP/good"
	restore() { dd if="$PT_TMP/good" of="$SEG" bs=256 count=1 conv=notrunc status=none; }

	patch_u64 "$SEG" $OFF_SLOTS_OFF 0x4000000000000000
	assert_corrupt "regions overlap or lie outside the file"
	restore
	patch_u64 "$SEG" $OFF_SHARDS_OFF 0xffffffffffffff00
	assert_corrupt "regions overlap or lie outside the file"
	restore
	patch_u32 "$SEG" $OFF_NSLOTS 0xffffffff
	assert_corrupt "counts exceed their tables"
	restore
	patch_u32 "$SEG" $OFF_STRINGS_USED 0x7fffffff
	assert_corrupt "counts exceed their tables"
	restore
	patch_u32 "$SEG" $OFF_MAX_SLOTS 0
	assert_corrupt "implausible table sizes"
	restore
	patch_u32 "$SEG" $OFF_HEADER_SIZE 4096
	assert_corrupt "bad header size"
	restore
	# Restored, it reads again: the process never noticed.
	ptrun used 1 "$TPID"
	pt_ok
	assert_row "Hdr " "0 0 0 0 5 0 5 280"
}

@test "corrupt segment: random header bytes never crash the reader" {
	tagged_with_segment
	cp "$SEG" "$PT_TMP/good"
	for seed in $(seq 1 40); do
		python3 -c 'import random, sys
r = random.Random(int(sys.argv[2]))
with open(sys.argv[1], "r+b") as f:
    for _ in range(r.randint(1, 6)):
        f.seek(r.randrange(12, 256)); f.write(bytes(r.randrange(256) for _ in range(r.randint(1, 8))))' \
			"$SEG" "$seed"
		ptrun used -v --sites "$TPID"
		# Some bytes (the name, the times) are harmless; others must be caught.
		if [ "$status" -ne 0 ]; then
			assert_error "^pooltag: (corrupt segment|stale segment|segment .* has format version)"
		fi
		dd if="$PT_TMP/good" of="$SEG" bs=256 count=1 conv=notrunc status=none
	done
}

@test "corrupt segment: truncated" {
	tagged_with_segment
	# The process would fault on the pages cut off: stop it from writing,
	# and have teardown kill it.
	kill -STOP "$TPID"
	PT_PIDS+=("$TPID")
	truncate -s 8192 "$SEG"
	assert_corrupt "size in header does not match the file \(truncated\?\)"
	truncate -s 100 "$SEG"
	assert_corrupt "shorter than its header"
	truncate -s 0 "$SEG"
	assert_corrupt "shorter than its header"
	kill -9 "$TPID"
	kill -CONT "$TPID" 2>/dev/null || true # it may already be gone
}

@test "wrong-version segment" {
	tagged_with_segment
	patch_u32 "$SEG" $OFF_VERSION 99
	ptrun used "$TPID"
	assert_error "^pooltag: segment $SEG has format version 99; this pooltag reads version 2$"
	ptrun ls
	pt_ok
	[[ ${lines[1]} == *"(segment $SEG has format version 99; this pooltag reads version 2)" ]]
}

# A valid snapshot of tagged to break in the next tests.
good_snap() {
	tagged_start
	tagged_work 20
	ptrun snap "$TPID" -o "$PT_TMP/good.snap"
	pt_ok
	GOOD="$PT_TMP/good.snap"
	NLINES=$(wc -l <"$GOOD")
}

@test "snapshot: truncated, with FILE:LINE" {
	good_snap
	f="$PT_TMP/t.snap"
	head -n $((NLINES - 1)) "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:$NLINES: truncated \(no end line\)$"
	# Cut in the middle of a line: of a site line, of the end line.
	head -c $(($(head -n 10 "$GOOD" | wc -c) + 7)) "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:11: truncated \(no end line\)$"
	head -c $(($(wc -c <"$GOOD") - 3)) "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:$NLINES: "
	# Cut to a prefix of the magic: still a truncated snapshot.
	head -c 10 "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:1: truncated \(no end line\)$"
	# Empty: nothing says snapshot any more.
	: >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f: not a snapshot, segment, !poolused or poolmon dump$"
	ptrun diff "$GOOD" "$f"
	assert_error "^pooltag: $f: not a snapshot, segment, !poolused or poolmon dump$"
}

@test "snapshot: corrupt lines, with FILE:LINE" {
	good_snap
	f="$PT_TMP/c.snap"
	sed '3s/.*/uid minus-one/' "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:3: bad number for uid: 'minus-one'$"
	sed '11s/paged/swapped/' "$GOOD" >"$f"
	[[ $(sed -n 11p "$f") == site* ]]
	ptrun used "$f"
	assert_error "^pooltag: $f:11: unknown pool 'swapped'"
	sed '2a\
garbage here' "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:3: unknown line type 'garbage'$"
	sed 's/$/\r/' "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:1: carriage return at end of line"
	printf 'pooltag-snapshot 1\npid 1\0\n' >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:2: NUL byte$"
	write_snap "$f" 'site|Bad |paged|1|2|10|10|1|a.c|f'
	ptrun used "$f"
	assert_error "^pooltag: $f:9: inconsistent counters"
	write_snap "$f" 'site|Bad|paged|1|0|10|0|1|a.c|f'
	ptrun used "$f"
	assert_error "^pooltag: $f:9: tag 'Bad' is not 4 bytes$"
	cp "$GOOD" "$f"
	echo "more" >>"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:$((NLINES + 1)): data after the end line$"
}

@test "snapshot: wrong version, with FILE:LINE" {
	good_snap
	f="$PT_TMP/v.snap"
	sed '1s/.*/pooltag-snapshot 3/' "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:1: snapshot version 3, this pooltag reads versions 1 to 2$"
	ptrun diff "$f" "$GOOD"
	assert_error "^pooltag: $f:1: snapshot version 3"
	ptrun snap "$f" -o "$PT_TMP/out.snap"
	assert_error "^pooltag: $f:1: snapshot version 3"
	sed '1s/.*/pooltag-snapshot one/' "$GOOD" >"$f"
	ptrun used "$f"
	assert_error "^pooltag: $f:1: bad snapshot version 'one'$"
}

@test "snapshot: not a file, or no file at all" {
	ptrun used "$PT_TMP/nothing.snap"
	assert_error "^pooltag: $PT_TMP/nothing.snap: no such process or file$"
	ptrun used "$PT_TMP"
	assert_error "^pooltag: cannot read $PT_TMP: "
	# A FIFO nobody writes must not hang the reader.
	mkfifo "$PT_TMP/fifo"
	ptrun used "$PT_TMP/fifo"
	assert_error "^pooltag: cannot read $PT_TMP/fifo: "
	ptrun used /dev/zero
	assert_error "^pooltag: cannot read /dev/zero: "
}

@test "bad pattern: too long, empty" {
	tagged_with_segment
	ptrun used TOOLONG "$TPID"
	assert_usage_error "^pooltag: used: bad tag pattern 'TOOLONG': .*longer than 4"
	ptrun used '' "$TPID"
	assert_usage_error "^pooltag: used: bad tag pattern '': .*empty"
	ptrun used 1 TOOLONG "$TPID"
	assert_usage_error "^pooltag: used: bad tag pattern 'TOOLONG'"
}

@test "unreadable tag file: --tags and POOLTAG_TAGS" {
	tagged_with_segment
	ptrun used --tags /nonexistent "$TPID"
	assert_error "^pooltag: cannot read tag file /nonexistent: No such file or directory$"
	POOLTAG_TAGS=/nonexistent ptrun used "$TPID"
	assert_error "^pooltag: cannot read tag file /nonexistent: No such file or directory$"
	ptrun used --tags "$PT_TMP" "$TPID"
	assert_error "^pooltag: cannot read tag file $PT_TMP: "
	ptrun diff --tags /nonexistent "$TPID" "$TPID"
	assert_error "^pooltag: cannot read tag file /nonexistent"
	# An empty POOLTAG_TAGS means none.
	POOLTAG_TAGS= ptrun used "$TPID"
	pt_ok
}

@test "bad flags: 8, 16 and others" {
	tagged_with_segment
	ptrun used 8 "$TPID"
	assert_usage_error "^pooltag: used: flag 8 \(session pool\) has no meaning for a process \\(see 'pooltag used --help'\\)$"
	ptrun used 9 "$TPID"
	assert_usage_error "^pooltag: used: flag 8"
	for f in 16 0x10 48 4294967296; do
		ptrun used "$f" "$TPID"
		assert_usage_error "^pooltag: used: unknown flag bits in '$f'"
	done
	ptrun used notaflag Hdr "$TPID"
	assert_usage_error "^pooltag: used: 'notaflag' is not a flags number \\(see 'pooltag used --help'\\)$"
}

@test "bad options: unknown sort key, bad counts, unknown options" {
	ptrun used -s size 1
	assert_usage_error "^pooltag: used: unknown sort key 'size': tag, nonpaged, paged, diff or allocs \\(see 'pooltag used --help'\\)$"
	ptrun used --sort= 1
	assert_usage_error "^pooltag: used: unknown sort key ''"
	for n in -1 x 1x ''; do
		ptrun used -t "$n" 1
		assert_usage_error "^pooltag: used: -t wants a non-negative number, not '$n'"
	done
	ptrun diff -t x a b
	assert_usage_error "^pooltag: diff: -t wants a non-negative number, not 'x'"
	ptrun used --bogus 1
	assert_usage_error "^pooltag: used: option '--bogus' is unknown or wants a value"
	# Every command says it in one line, getopt's own message off.
	local cmd
	for cmd in used diff ls refs snap mon record trend plot exporter run faults; do
		ptrun "$cmd" --bogus -- true
		assert_usage_error "^pooltag: $cmd: (option '--bogus' is unknown or wants a value|unknown argument '--bogus')"
	done
}

@test "unknown command and missing arguments: usage, status 2" {
	ptrun bogus
	assert_usage_error "^pooltag: unknown command 'bogus' \\(see 'pooltag --help'\\)$"
	ptrun
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[[ ${stderr_lines[0]} == "usage: pooltag COMMAND [ARGS]" ]]
	ptrun used
	assert_usage_error "^pooltag: used: which process or snapshot\? \\(see 'pooltag used --help'\\)$"
	ptrun used 1 Hdr 2 3
	assert_usage_error "^pooltag: used: too many arguments \\(see 'pooltag used --help'\\)$"
	ptrun snap
	assert_usage_error "^pooltag: snap: wants one PID"
	ptrun snap 1
	assert_usage_error "^pooltag: snap: wants one PID"
	ptrun snap -o "$PT_TMP/x.snap"
	assert_usage_error "^pooltag: snap: wants one PID"
	ptrun diff
	assert_usage_error "^pooltag: diff: wants two arguments"
	ptrun diff a
	assert_usage_error "^pooltag: diff: wants two arguments"
	ptrun diff a b c
	assert_usage_error "^pooltag: diff: wants two arguments"
	# Help is not an error.
	ptrun --help
	pt_ok
	[[ ${lines[0]} == "usage: pooltag COMMAND [ARGS]" ]]
	ptrun --version
	pt_ok
	[[ $output =~ ^pooltag\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}
