#!/usr/bin/env bats
# `pooltag snap` and `pooltag diff`: snapshots of examples/tagged read back
# as the live table, written atomically in the documented format, and the
# diff that points at the leaking tag; `pooltag refs` of a hand-made one.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# norm LINE: the line with runs of blanks squeezed to one space, trimmed.
norm() {
	echo $1
}

# assert_aligned HEADER ROW: the diff table's numeric column titles end
# where the row's numbers end (fields 3 to 8).
assert_aligned() {
	python3 -c '
import re, sys
ends = lambda s: [m.end() for m in re.finditer(r"\S+", s)]
h, r = ends(sys.argv[1]), ends(sys.argv[2])
assert h[2:8] == r[2:8], ("columns do not line up", sys.argv[1], sys.argv[2])' "$1" "$2"
}

@test "snap: the file is the documented canonical format, with exact counters" {
	tagged_start
	tagged_work 1000
	tagged_lines
	before=$(date +%s%N)
	ptrun snap "$TPID" -o "$PT_TMP/a.snap"
	pt_ok
	after=$(date +%s%N)
	[ -z "$output" ]
	mapfile -t snap <"$PT_TMP/a.snap"
	[ "${snap[0]}" = "pooltag-snapshot 2" ]
	[ "${snap[1]}" = "pid $TPID" ]
	[ "${snap[2]}" = "uid $(id -u)" ]
	[ "${snap[3]}" = "command tagged" ]
	[[ ${snap[4]} =~ ^taken\ ([0-9]+)$ ]]
	taken=${BASH_REMATCH[1]}
	((taken >= before && taken <= after)) || fail "taken $taken not in [$before, $after]"
	[[ ${snap[5]} =~ ^created\ ([0-9]+)$ ]]
	((BASH_REMATCH[1] <= taken)) || fail "created after taken: ${snap[5]}"
	[ "${snap[6]}" = "start_ticks $(awk '{print $22}' "/proc/$TPID/stat")" ]
	[ "${snap[7]}" = "misuse 0" ]
	# The descriptions first, then the sites, then the end line.
	[ "${snap[8]}" = $'desc\tConn\ttagged\tConnection state' ]
	[ "${snap[9]}" = $'desc\tReq \ttagged\tRequest buffers' ]
	sites=$(printf '%s\n' "${snap[@]:10:4}" | sort)
	expect=$(printf '%s\n' \
		$'site\tConn\tpaged\t1000\t1000\t16000\t16000\t'"$CONN_LINE"$'\texamples/tagged.c\tserve\ttagged' \
		$'site\tHdr \tpaged\t1000\t0\t56000\t0\t'"$HDR_LINE"$'\texamples/tagged.c\tserve\ttagged' \
		$'site\tKey \tnonpaged\t1000\t1000\t32000\t32000\t'"$KEY_LINE"$'\texamples/tagged.c\tserve\ttagged' \
		$'site\tReq \tpaged\t1000\t1000\t'"$(req_bytes 1000)"$'\t'"$(req_bytes 1000)"$'\t'"$REQ_LINE"$'\texamples/tagged.c\tserve\ttagged' |
		sort)
	[ "$sites" = "$expect" ] || fail "sites:"$'\n'"$sites"$'\n'"expected:"$'\n'"$expect"
	[ "${snap[14]}" = $'end\t4\t2' ]
	[ "${#snap[@]}" -eq 15 ]
	# It ends with the end line's LF.
	[ "$(tail -c 1 "$PT_TMP/a.snap" | od -An -c | tr -d ' ')" = '\n' ]
	# Counters and file names are the owner's business.
	[ "$(stat -c '%a %u' "$PT_TMP/a.snap")" = "600 $(id -u)" ]
}

@test "snap then used FILE gives the live table" {
	tagged_start
	tagged_work 1000
	ptrun snap "$TPID" -o "$PT_TMP/a.snap"
	pt_ok
	for args in "" "-v" "7" "-v --sites" "--csv --sites" "-s diff -r" "1 Re*"; do
		ptrun used $args "$TPID"
		pt_ok
		# A snapshot keeps the counters, not the sampled call paths.
		live=${output%%$'\n\n Sampled call paths ('*}
		ptrun used $args "$PT_TMP/a.snap"
		pt_ok
		[ "$output" = "$live" ] || fail "used $args differs:"$'\n'"$live"$'\n'"--- snapshot:"$'\n'"$output"
	done
	# JSON differs only in when it was read, and in the sampled paths
	# (the last member).
	ptrun used --json --sites "$TPID"
	[[ $output == *',"sampled":{"mean_bytes":524288,'* ]] || fail "no sampled paths: $output"
	live=$(echo "$output" | sed -e 's/"taken_ns":[0-9]*//' -e 's/,"sampled":.*$/}/')
	ptrun used --json --sites "$PT_TMP/a.snap"
	pt_ok
	[ "$(echo "$output" | sed 's/"taken_ns":[0-9]*//')" = "$live" ]
}

@test "snap of a snapshot gives the same bytes" {
	tagged_start
	tagged_work 50
	ptrun snap "$TPID" -o "$PT_TMP/a.snap"
	pt_ok
	ptrun snap "$PT_TMP/a.snap" -o "$PT_TMP/b.snap"
	pt_ok
	cmp "$PT_TMP/a.snap" "$PT_TMP/b.snap"
	# A hand-made one is rewritten in canonical form and reads the same.
	fixture_snap "$PT_TMP/f.snap"
	ptrun snap "$PT_TMP/f.snap" -o "$PT_TMP/g.snap"
	pt_ok
	ptrun snap "$PT_TMP/g.snap" -o "$PT_TMP/h.snap"
	pt_ok
	cmp "$PT_TMP/g.snap" "$PT_TMP/h.snap"
	ptrun used -v --sites "$PT_TMP/f.snap"
	want=$output
	ptrun used -v --sites "$PT_TMP/g.snap"
	[ "$output" = "$want" ]
}

@test "snap is atomic: no temporary file left, an old target replaced whole" {
	tagged_start
	tagged_work 10
	mkdir "$PT_TMP/out"
	echo "old contents" >"$PT_TMP/out/a.snap"
	ptrun snap "$TPID" -o "$PT_TMP/out/a.snap"
	pt_ok
	[ "$(ls -A "$PT_TMP/out")" = "a.snap" ]
	[ "$(head -n 1 "$PT_TMP/out/a.snap")" = "pooltag-snapshot 2" ]
	# A failed snap leaves the target as it was, and no temporary file.
	cp "$PT_TMP/out/a.snap" "$PT_TMP/keep"
	ptrun snap 999999999 -o "$PT_TMP/out/a.snap"
	assert_error "no such process: 999999999"
	cmp "$PT_TMP/keep" "$PT_TMP/out/a.snap"
	ptrun snap "$TPID" -o "$PT_TMP/nodir/a.snap"
	assert_error "cannot write snapshot $PT_TMP/nodir/a.snap"
	[ "$(ls -A "$PT_TMP/out")" = "a.snap" ]
}

@test "snap is atomic: a reader never sees a partial file while snaps replace it" {
	tagged_start
	tagged_work 300
	ptrun snap "$TPID" -o "$PT_TMP/a.snap"
	pt_ok
	# A writer replaces the file 40 times while we read it.
	spawn /dev/null "$PT_TMP/writer.out" "$PT_TMP/writer.err" bash -c '
		for i in $(seq 40); do "$1" snap "$2" -o "$3" || exit 1; done' \
		writer "$PT" "$TPID" "$PT_TMP/a.snap"
	writer=$SPAWNED
	PT_PIDS+=("$writer")
	reads=0
	while kill -0 "$writer" 2>/dev/null; do
		ptrun used -v "$PT_TMP/a.snap"
		pt_ok
		assert_row "Hdr " "0 0 0 0 300 0 300 16800"
		reads=$((reads + 1))
	done
	wait "$writer" || fail "the writer failed: $(cat "$PT_TMP/writer.err")"
	[ "$reads" -gt 0 ]
	[ "$(ls -A "$PT_TMP" | grep -c pooltag-snap)" -eq 0 ]
}

@test "snap is atomic: a snap cut off in mid-write leaves the old file whole" {
	# The seed's host: a snapshot of several KiB, more than the 1 KiB
	# that RLIMIT_FSIZE lets the writer put down before its write fails.
	seed="$PT_BUILD/examples/seed"
	prog_start h "$seed/host" "$seed/libsey.so" 1000000
	HPID=${PROG_PID[h]}
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ -e "$(seg_of "$HPID")" ] && break
		sleep 0.05
	done
	ptrun snap "$HPID" -o "$PT_TMP/a.snap"
	pt_ok
	(($(stat -c %s "$PT_TMP/a.snap") > 1024))
	cp "$PT_TMP/a.snap" "$PT_TMP/keep"
	ino=$(stat -c %i "$PT_TMP/a.snap")
	# A writer in place would have truncated the file and written 1 KiB.
	run --separate-stderr bash -c 'trap "" XFSZ; ulimit -f 1; exec "$@"' limit "$PT" snap "$HPID" -o "$PT_TMP/a.snap"
	assert_error "^pooltag: cannot write snapshot $PT_TMP/a.snap: File too large$"
	cmp "$PT_TMP/keep" "$PT_TMP/a.snap"
	[ "$(stat -c %i "$PT_TMP/a.snap")" = "$ino" ]
	[ "$(ls -A "$PT_TMP" | grep -c pooltag-snap)" -eq 0 ]
	[ "$(ls -A "$PT_TMP" | grep -vc -e '^shm$' -e '\.snap$' -e '^keep$' -e '^h\.')" -eq 0 ] ||
		fail "left in $PT_TMP: $(ls -A "$PT_TMP")"
	# A snap that succeeds puts a new file in place (a rename), never
	# rewrites the old one.
	ptrun snap "$HPID" -o "$PT_TMP/a.snap"
	pt_ok
	[ "$(stat -c %i "$PT_TMP/a.snap")" != "$ino" ]
	kill -9 "$HPID"
}

@test "diff: the leaking tag is the first suspect, the rest are other changes" {
	tagged_start
	tagged_work 100
	ptrun snap "$TPID" -o "$PT_TMP/old.snap"
	pt_ok
	tagged_work 200
	ptrun snap "$TPID" -o "$PT_TMP/new.snap"
	pt_ok
	ptrun diff "$PT_TMP/old.snap" "$PT_TMP/new.snap"
	pt_ok
	[[ ${lines[0]} =~ ^\ Comparing\ OLD:\ pid\ $TPID\ \(tagged\)\ with\ NEW:\ pid\ $TPID\ \(tagged\),\ [0-9]+(\.[0-9]+)?\ s\ apart$ ]]
	[[ ${lines[1]} == " Leak suspects: "* ]]
	[ "$(norm "${lines[2]}")" = "Tag Pool +Diff +Used +Allocs +Frees Diff Used" ]
	assert_aligned "${lines[2]}" "${lines[3]}"
	[ "$(norm "${lines[3]}")" = "Hdr Paged +200 +11200 +200 +0 300 16800 $TAGGED_HDR_DESC" ]
	[ "${lines[4]}" = " Other changes:" ]
	[ "${lines[5]}" = "${lines[2]}" ]
	[ "$(norm "${lines[6]}")" = "Conn Paged +0 +0 +200 +200 0 0 Connection state , Binary: tagged" ]
	[ "$(norm "${lines[7]}")" = "Key NonPaged +0 +0 +200 +200 0 0 $TAGGED_HDR_DESC" ]
	[ "$(norm "${lines[8]}")" = "Req Paged +0 +0 +200 +200 0 0 Request buffers , Binary: tagged" ]
	[ "${#lines[@]}" -eq 9 ]
	# The column layout.
	[ "${lines[3]}" = "$(printf ' %-4s %-8s %+12d %+12d %+9d %+9d %9d %10d   %s' 'Hdr ' Paged 200 11200 200 0 300 16800 "$TAGGED_HDR_DESC")" ]
}

@test "diff --sites names the lines; -t limits the rows" {
	tagged_start
	tagged_lines
	tagged_work 10
	ptrun snap "$TPID" -o "$PT_TMP/old.snap"
	pt_ok
	tagged_work 5
	ptrun diff --sites "$PT_TMP/old.snap" "$PT_TMP/new.snap"
	assert_error "no such process or file"
	ptrun snap "$TPID" -o "$PT_TMP/new.snap"
	pt_ok
	ptrun diff --sites "$PT_TMP/old.snap" "$PT_TMP/new.snap"
	pt_ok
	[ "$(norm "${lines[3]}")" = "Hdr Paged +5 +280 +5 +0 15 840 at examples/tagged.c:$HDR_LINE in serve" ]
	[ "$(norm "${lines[6]}")" = "Conn Paged +0 +0 +5 +5 0 0 at examples/tagged.c:$CONN_LINE in serve" ]
	[ "$(norm "${lines[7]}")" = "Key NonPaged +0 +0 +5 +5 0 0 at examples/tagged.c:$KEY_LINE in serve" ]
	[ "$(norm "${lines[8]}")" = "Req Paged +0 +0 +5 +5 0 0 at examples/tagged.c:$REQ_LINE in serve" ]
	ptrun diff -t 1 "$PT_TMP/old.snap" "$PT_TMP/new.snap"
	pt_ok
	[ "$(norm "${lines[3]}")" = "Hdr Paged +5 +280 +5 +0 15 840 $TAGGED_HDR_DESC" ]
	[ "${lines[4]}" = " ... 3 more changes not shown" ]
	[ "${#lines[@]}" -eq 5 ]
}

@test "diff: a snapshot against the live process, and no change" {
	tagged_start
	tagged_work 10
	ptrun snap "$TPID" -o "$PT_TMP/old.snap"
	pt_ok
	ptrun diff "$PT_TMP/old.snap" "$TPID"
	pt_ok
	[ "${lines[1]}" = " No tag changed." ]
	[ "${#lines[@]}" -eq 2 ]
	tagged_work 3
	ptrun diff "$PT_TMP/old.snap" "$TPID"
	pt_ok
	[ "$(norm "${lines[3]}")" = "Hdr Paged +3 +168 +3 +0 13 728 $TAGGED_HDR_DESC" ]
	# Tag files describe tags in a diff too.
	printf 'Hdr - tagged - Header cache\n' >"$PT_TMP/t.txt"
	ptrun diff --tags "$PT_TMP/t.txt" "$PT_TMP/old.snap" "$TPID"
	pt_ok
	[ "$(norm "${lines[3]}")" = "Hdr Paged +3 +168 +3 +0 13 728 Header cache , Binary: tagged" ]
}

@test "diff: shrinking and vanished tags are other changes" {
	write_snap "$PT_TMP/old.snap" \
		'site|Gone|paged|5|0|50|0|1|g.c|g' \
		'site|Shrk|nonpaged|10|0|1000|0|2|s.c|s' \
		'site|Same|paged|1|0|10|0|3|s.c|s'
	write_snap "$PT_TMP/new.snap" \
		'site|Shrk|nonpaged|12|8|1200|800|2|s.c|s' \
		'site|Same|paged|1|0|10|0|3|s.c|s' \
		'site|Grow|paged|4|1|400|100|4|n.c|n'
	ptrun diff "$PT_TMP/old.snap" "$PT_TMP/new.snap"
	pt_ok
	[[ ${lines[1]} == " Leak suspects: "* ]]
	[ "$(norm "${lines[3]}")" = "Grow Paged +3 +300 +4 +1 3 300 Allocated in n (n.c) , Binary: fixture" ]
	[ "${lines[4]}" = " Other changes:" ]
	[ "$(norm "${lines[6]}")" = "Gone Paged -5 -50 -5 +0 0 0 (no longer allocated)" ]
	[ "$(norm "${lines[7]}")" = "Shrk NonPaged -6 -600 +2 +8 4 400 Allocated in s (s.c) , Binary: fixture" ]
	[ "${#lines[@]}" -eq 8 ]
}

@test "refs: module, file and function names shown whole, however long" {
	local mod file fn
	mod=lib$(printf 'm%.0s' {1..200}).so
	file=src/$(printf 'f%.0s' {1..300}).c
	fn=take_$(printf 'g%.0s' {1..300})
	{
		printf 'pooltag-snapshot 2\npid 4242\nuid 1000\ncommand fixture\ntaken 1700000000000000000\n'
		printf 'created 1699999990000000000\nstart_ticks 777\nmisuse 0\n'
		printf 'site\tProc\trefs\t3\t1\t0\t0\t17\t%s\t%s\t%s\n' "$file" "$fn" "$mod"
		printf 'end\t1\t0\n'
	} >"$PT_TMP/long.snap"
	ptrun refs "$PT_TMP/long.snap"
	pt_ok
	[ "${lines[2]}" = "$(printf ' %s refs     Proc          2          3          1  %s:17 in %s' "$mod" "$file" "$fn")" ] ||
		fail "row: '${lines[2]}'"
}
