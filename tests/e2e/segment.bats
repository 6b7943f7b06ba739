#!/usr/bin/env bats
# The export segment against programs and users that would break it:
# descriptor-closing programs (tests/progs/closer.c, tests/uprogs/closeall.c),
# processes that change what /proc says of them and zombies
# (tests/progs/holder.c), `ls --clean` racing hundreds of starting processes
# (tests/progs/herd.c), objects planted at a segment's name by another user,
# and crafted sparse segments.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

UP="$PT_BUILD/tests/uprogs"

# holder_start: starts tests/progs/holder as "h"; sets HPID.
holder_start() {
	rm -f "$PT_TMP/h.in" "$PT_TMP/h.out"
	prog_start h "$PROGS/holder"
	prog_send h pid
	prog_expect h 'pid [0-9]+'
	HPID=${REPLY#pid }
}

@test "segment: closing every descriptor never lets pooltag touch the program's files" {
	for style in closefrom syscall loop; do
		# Linked with the library; the same run without export is the reference.
		run "$PROGS/closer" "$style" "$PT_TMP/with.$style"
		[ "$status" -eq 0 ] && [ "$output" = "size 10" ] || fail "$style: $status $output"
		POOLTAG_EXPORT=0 run "$PROGS/closer" "$style" "$PT_TMP/without.$style"
		[ "$status" -eq 0 ] && [ "$output" = "size 10" ] || fail "$style: $status $output"
		cmp "$PT_TMP/with.$style" "$PT_TMP/without.$style" || fail "$style: the file differs"
		# Under pooltag run, against the bare program.
		run "$UP/closeall" "$style" "$PT_TMP/bare.$style"
		[ "$status" -eq 0 ] && [ "$output" = "size 10" ] || fail "$style bare: $status $output"
		run --separate-stderr timeout -k 5 120 "$PT" run -- "$UP/closeall" "$style" "$PT_TMP/run.$style"
		[ "$status" -eq 0 ] && [ "$output" = "size 10" ] || fail "$style run: $status $output $stderr"
		cmp "$PT_TMP/run.$style" "$PT_TMP/bare.$style" || fail "$style run: the file differs"
	done
	# Every segment was removed at exit.
	[ -z "$(ls -A "$POOLTAG_DIR")" ] || fail "left behind: $(ls -A "$POOLTAG_DIR")"
}

# as_nobody ARGS...: runs the CLI as uid 65534, like ptrun.
as_nobody() {
	run --separate-stderr timeout -k 5 120 "${NOBODY[@]}" "$PT" "$@"
}

@test "segment: a non-dumpable process and one that changed credentials are live" {
	need_nobody
	chmod 755 "$PT_TMP"
	chmod 1777 "$POOLTAG_DIR"
	# A user's process that made itself non-dumpable: /proc/PID/maps is
	# closed to its own user now, and its segment must still be live.
	prog_start n "${NOBODY[@]}" "$PROGS/holder"
	prog_send n pid
	prog_expect n 'pid [0-9]+'
	npid=${REPLY#pid }
	prog_send n alloc
	prog_expect n "path $(seg_of "$npid")"
	prog_cmd n nodump
	! "${NOBODY[@]}" cat "/proc/$npid/maps" >/dev/null 2>&1
	as_nobody ls
	pt_ok
	[[ ${lines[1]} == *" $npid  live "* ]] || fail "$output"
	as_nobody ls --clean
	pt_ok
	[ "${lines[2]}" = "removed 0 stale segments" ] || fail "$output"
	[ -f "$(seg_of "$npid")" ]
	as_nobody used "$npid"
	pt_ok
	assert_row "Hold" "0 0 3 96"
	# A process that changed its credentials after making its segment.
	holder_start
	prog_send h alloc
	prog_expect h "path $(seg_of "$HPID")"
	prog_cmd h "setuid 65534"
	ptrun ls --clean
	pt_ok
	[[ $(grep "^ *$HPID " <<<"$output") == *" live "* ]] || fail "$output"
	[ -f "$(seg_of "$HPID")" ]
	ptrun used "$HPID"
	pt_ok
	assert_row "Hold" "0 0 3 96"
}

@test "segment: ls --clean racing 300 starting processes removes none of theirs" {
	prog_start herd "$PROGS/herd" 300
	# Clean in a loop until every member has its segment (at least once).
	n=0
	while :; do
		"$PT" ls --clean >/dev/null 2>"$PT_TMP/clean.err" || fail "ls --clean: $(cat "$PT_TMP/clean.err")"
		n=$((n + 1))
		IFS= read -r -t 0 -u "${PROG_OUT[herd]}" && break
	done
	# Read the members' lines (each after its segment was made), cleaning
	# again after every tenth while the rest start.
	: >"$PT_TMP/members"
	while prog_read herd && [[ $REPLY == member* ]]; do
		echo "$REPLY" >>"$PT_TMP/members"
		[ $((++n % 10)) -ne 0 ] ||
			"$PT" ls --clean >/dev/null 2>"$PT_TMP/clean.err" || fail "ls --clean: $(cat "$PT_TMP/clean.err")"
	done
	[ "$REPLY" = "all 300" ] || fail "herd: $REPLY"
	[ "$(wc -l <"$PT_TMP/members")" -eq 300 ]
	while read -r _ pid path; do
		[ "$path" = "$(seg_of "$pid")" ] || fail "member $pid: $path"
		[ -f "$path" ] || fail "member $pid lost its segment after $n cleans"
	done <"$PT_TMP/members"
	ptrun ls
	pt_ok
	[ "$(grep -c '  live ' <<<"$output")" -eq 300 ] || fail "$output"
	prog_stop herd
}

@test "segment: an object another user plants at the name leads to a fallback name" {
	need_nobody
	chmod 755 "$PT_TMP"
	chmod 1777 "$POOLTAG_DIR"
	echo "not yours" >"$PT_TMP/target"
	chmod 644 "$PT_TMP/target"
	for kind in symlink file fifo dir; do
		holder_start
		name=$(seg_of "$HPID")
		case $kind in
		symlink) "${NOBODY[@]}" ln -s "$PT_TMP/target" "$name" ;;
		file) "${NOBODY[@]}" sh -c 'echo planted >"$1"' sh "$name" ;;
		fifo) "${NOBODY[@]}" mkfifo "$name" ;;
		dir) "${NOBODY[@]}" mkdir "$name" ;;
		esac
		[ "$(stat -c %u "$name")" = 65534 ]
		prog_send h alloc
		prog_expect h "path $name.1" || fail "$kind"
		# The planted object is untouched, the target too.
		[ "$(stat -c %u "$name")" = 65534 ]
		[ "$(cat "$PT_TMP/target")" = "not yours" ]
		case $kind in
		symlink) [ -L "$name" ] ;;
		file) [ "$(cat "$name")" = planted ] ;;
		fifo) [ -p "$name" ] ;;
		dir) [ -d "$name" ] ;;
		esac
		ptrun used "$HPID"
		pt_ok
		assert_row "Hold" "0 0 3 96"
		prog_stop h
		[ ! -e "$name.1" ] || fail "$kind: the fallback segment stayed"
		rm -rf "$name"
	done
}

@test "segment: zombies have exited, for ls, used, mon and record alike" {
	holder_start
	prog_send h alloc
	prog_expect h "path .*"
	# Killed: its segment stays; not reaped: a zombie.
	prog_send h "zombie kill"
	prog_expect h 'zombie [0-9]+'
	zpid=${REPLY#zombie }
	[ "$(awk '{print $3}' "/proc/$zpid/stat")" = Z ]
	[ -f "$(seg_of "$zpid")" ]
	ptrun ls
	pt_ok
	[[ $(grep "^ *$zpid " <<<"$output") == *" stale "*"(exited; 'pooltag ls --clean' removes it)" ]] ||
		fail "$output"
	ptrun used "$zpid"
	assert_error "stale segment $(seg_of "$zpid"): process $zpid has exited;"
	ptrun mon -n 1 "$zpid"
	[ "$status" -eq 0 ] || fail "mon: $status $stderr"
	[ "$stderr" = "pooltag: process $zpid has exited" ] || fail "mon: $stderr"
	ptrun record "$zpid" -o "$PT_TMP/z.rec" -d 1
	[ "$status" -eq 1 ] && [[ $stderr == *"process $zpid has exited"* ]] || fail "record: $status $stderr"
	# Exited normally: its segment is gone, and it is a zombie.
	prog_send h "zombie exit"
	prog_expect h 'zombie [0-9]+'
	zpid=${REPLY#zombie }
	[ ! -e "$(seg_of "$zpid")" ]
	ptrun used "$zpid"
	assert_error "^pooltag: process $zpid has exited$"
	ptrun mon -n 1 "$zpid"
	[ "$status" -eq 0 ] && [ "$stderr" = "pooltag: process $zpid has exited" ] || fail "mon: $status $stderr"
	prog_stop h
}

@test "segment: root hears whose segment another user's process has" {
	need_nobody
	chmod 755 "$PT_TMP"
	chmod 1777 "$POOLTAG_DIR"
	prog_start n "${NOBODY[@]}" "$PROGS/holder"
	prog_send n pid
	prog_expect n 'pid [0-9]+'
	npid=${REPLY#pid }
	prog_send n alloc
	prog_expect n "path $(seg_of "$npid")"
	ptrun used "$npid"
	assert_error "^pooltag: process $npid exports its counters in $(seg_of "$npid"), which belongs to uid 65534 \(nobody\): pooltag reads a user's segments as that user$"
	# As that user it reads.
	run --separate-stderr timeout 60 "${NOBODY[@]}" "$PT" used "$npid"
	pt_ok
	assert_row "Hold" "0 0 3 96"
}

# crafted_segment FILE APPARENT NSLOTS NSHARDS: a segment header declaring
# NSLOTS slots in use in each of NSHARDS shards, in a sparse file of
# APPARENT bytes that holds one block.
crafted_segment() {
	python3 - "$@" <<'PY'
import struct, sys
path, size, nslots, nshards = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
page = 4096
rnd = lambda n: (n + page - 1) // page * page
max_slots, max_descs, max_modules, strings = nslots, 16, 16, 4096
slots_off = page
descs_off = slots_off + rnd(max_slots * 32)
modules_off = descs_off + rnd(max_descs * 16)
strings_off = modules_off + rnd(max_modules * 16)
shards_off = strings_off + rnd(strings)
stride = rnd(max_slots * 32)
max_shards = (size - shards_off) // stride
assert max_shards >= nshards, (max_shards, nshards)
h = struct.pack("<8sIIQiIQq64sIIIIQQQQQIIIIQQII",
    b"PTSEGMNT", 2, 256, size, 1, 0, 0, 0, b"crafted",
    max_slots, max_descs, max_shards, strings, slots_off, descs_off, strings_off,
    shards_off, stride, nslots, 0, nshards, 3, 0, modules_off, max_modules, 0)
h += b"\0" * (256 - len(h))
with open(path, "wb") as f:
    f.write(h)
    f.truncate(size)
PY
}

@test "segment: a crafted sparse segment declaring huge tables is refused at once" {
	# 1 TiB apparent, one block on disk: 16 M slots in 65,000 shards.
	crafted_segment "$PT_TMP/huge.seg" $((1 << 40)) $((1 << 24)) 2000
	[ "$(stat -c %b "$PT_TMP/huge.seg")" -le 64 ]
	ptrun used "$PT_TMP/huge.seg"
	assert_error "corrupt segment $PT_TMP/huge.seg: declares more than 1 GiB of tables and counters in use \(the reader's limit\)"
	# Within the limit, but far more than the file holds.
	crafted_segment "$PT_TMP/sparse.seg" $((1 << 32)) 65536 200
	ptrun used "$PT_TMP/sparse.seg"
	assert_error "corrupt segment $PT_TMP/sparse.seg: declares more tables and counters in use than the file holds"
	# A small one is read (every counter zero).
	crafted_segment "$PT_TMP/small.seg" $((1 << 24)) 64 2
	ptrun used "$PT_TMP/small.seg"
	pt_ok
}

@test "segment: a program linked with libpooltag under pooltag run has one segment, the interposer's" {
	prog_start r "$PT" run -- "$PROGS/holder"
	prog_send r pid
	prog_expect r 'pid [0-9]+'
	rpid=${REPLY#pid }
	prog_send r alloc
	prog_expect r "path none" # its own copy of the library keeps its counters private
	[ "$(ls -A "$POOLTAG_DIR")" = "pooltag-$rpid" ] || fail "segments: $(ls -A "$POOLTAG_DIR")"
	ptrun ls
	pt_ok
	[ "${#lines[@]}" -eq 2 ] && [[ ${lines[1]} == *" $rpid  live "* ]] || fail "$output"
	ptrun used "$rpid"
	pt_ok
	prog_send r quit
	prog_stop r
	grep -q "^pooltag: holder (pid $rpid) links libpooltag and runs under pooltag run: pooltag run's counters are exported, the program's own stay private$" "$PT_TMP/r.err" ||
		fail "stderr: $(cat "$PT_TMP/r.err")"
	grep -q "^pooltag: holder (pid $rpid) exit: " "$PT_TMP/r.err" || fail "no verdict: $(cat "$PT_TMP/r.err")"
}

@test "segment: live reads under 4 threads never show more blocks than exist, nor fewer than zero" {
	# tests/progs/threads.c: per thread and kind at most 8 blocks live (its
	# ring slots of that kind), at least 7 once running.
	prog_start th "$PROGS/threads" 4
	prog_expect th 'pid [0-9]+'
	pid=${REPLY#pid }
	prog_expect th running
	for i in $(seq -w 1 100); do
		ptrun used -v --json "$pid"
		pt_ok
		printf '%s\n' "$output" >"$PT_TMP/read.$i.json"
	done
	prog_send th stop
	python3 - "$PT_TMP" <<'PY'
import glob, json, sys
sizes = {"ThrA": ("paged", 24), "ThrB": ("paged", 200), "ThrN": ("nonpaged", 64)}
reads = sorted(glob.glob(sys.argv[1] + "/read.*.json"))
assert len(reads) == 100, len(reads)
for path in reads:
    tags = {t["tag"]: t for t in json.load(open(path))["tags"]}
    for tag, (pool, size) in sizes.items():
        s = tags[tag][pool]
        assert 0 <= s["diff"] <= 4 * 8, ("outstanding out of [0, 32]", path, tag, s)
        assert s["diff"] >= 4 * 7, ("fewer live blocks than the threads hold", path, tag, s)
        # Bytes are counters of their own, held to the same bounds.
        assert 4 * 7 * size <= s["used"] <= 4 * 8 * size, ("bytes out of bounds", path, tag, s)
PY
}
