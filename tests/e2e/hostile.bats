#!/usr/bin/env bats
# Names that are terminal escape sequences (tests/progs/hostile.c: its
# sites' file and function, a tag's description and binary, its command and
# module; and the segments' directory): no view passes a control byte read
# from a segment, snapshot or recording to the terminal, on standard output
# or in a message on standard error.  Each shows the name, with '?' in the
# control bytes' place.

load helpers

setup() {
	pt_setup
	# Messages name the segments' directory: an escape sequence too.
	export POOLTAG_DIR="$PT_TMP/"$'\e[31mshm'
	mkdir "$POOLTAG_DIR"
}

teardown() {
	pt_teardown
}

# What the hostile names look like once safe.
SITE='?[31mevil??.c:7 in ?]0;pwned?fn??1m?2m'
COMM='?[1mhost?'
DESC='?[2Jwiped?[1m , Binary: ?[5mbin?'

# clean: neither $output nor $stderr holds a control byte other than a line
# end or a tab (used's description column follows one).
clean() {
	local bad
	bad=$(printf '%s%s' "$output" "$stderr" | tr -d '\n\t' | LC_ALL=C tr -dc '\000-\037\177' | od -An -c)
	[ -z "$bad" ] || fail "control bytes reach the terminal:$bad"$'\n'"$(printf '%s\n%s\n' "$output" "$stderr" | cat -v)"
	# Nor C1 controls, in UTF-8 or as lone bytes (CSI, 0x9b).
	! printf '%s%s' "$output" "$stderr" | LC_ALL=C grep -q $'\302\233\|\233' ||
		fail "CSI reaches the terminal: $(printf '%s\n%s\n' "$output" "$stderr" | cat -v)"
}

# hostile_start: runs tests/progs/hostile under a name that is an escape
# sequence (its command and module name), allocates; sets HPID.
hostile_start() {
	ln -s "$PROGS/hostile" "$PT_TMP/"$'\e[1mhost\a'
	prog_start h "$PT_TMP/"$'\e[1mhost\a'
	prog_send h pid
	prog_expect h 'pid [0-9]+'
	HPID=${REPLY#pid }
	prog_cmd h alloc
}

@test "hostile: used in every layout, its site lines and its references' and handles'" {
	hostile_start
	ptrun used "$HPID"
	pt_ok
	clean
	[[ ${lines[0]} == " pid $HPID ($COMM)" ]] || fail "head: $output"
	[[ $output == *"$DESC"* ]] || fail "description: $output"
	ptrun used -v "$HPID"
	pt_ok
	clean
	ptrun used --sites "$HPID"
	pt_ok
	clean
	[[ $output == *"  at $SITE"* ]] || fail "site line: $output"
	[[ $output == *"      references: 2 held, 2 taken, at $SITE ($COMM)"* ]] || fail "references: $output"
	[[ $output == *"      handles: 1 held, 1 taken, at $SITE ($COMM)"* ]] || fail "handles: $output"
	[[ $output == *" Evil sampled: ~"*" at $SITE"* ]] || fail "sampled path: $output"
	# CSV as text: the DEL of the file's name too.
	ptrun used --csv --sites "$HPID"
	pt_ok
	clean
	[[ $output == *'"Evob",refs,"?[31mevil??.c",7,"?]0;pwned?fn??1m?2m",2,0,2,0,'* ]] || fail "CSV: $output"
	ptrun used --suspects --min-allocs 1 "$HPID"
	pt_ok
	clean
	prog_stop h
}

@test "hostile: refs, and refs --all" {
	hostile_start
	ptrun refs "$HPID"
	pt_ok
	clean
	[[ ${lines[0]} == " pid $HPID ($COMM): 3 references and handles held" ]] || fail "head: $output"
	[[ $output == *" $COMM            refs     Evob          2          2          0  $SITE"* ]] ||
		fail "refs row: $output"
	ptrun refs --all "$HPID"
	pt_ok
	clean
	prog_stop h
}

@test "hostile: diff of a snapshot and the live process, and the snapshot read back" {
	hostile_start
	ptrun snap "$HPID" -o "$PT_TMP/h.snap"
	pt_ok
	prog_cmd h more
	ptrun diff "$PT_TMP/h.snap" "$HPID"
	pt_ok
	clean
	[[ $output == *" Evil Paged"*"$DESC"* ]] || fail "diff: $output"
	ptrun diff --sites "$PT_TMP/h.snap" "$HPID"
	pt_ok
	clean
	[[ $output == *" Evil Paged"*"at $SITE"* ]] || fail "diff --sites: $output"
	ptrun used --sites "$PT_TMP/h.snap"
	pt_ok
	clean
	[[ $output == *"      references: 2 held, 2 taken, at $SITE ($COMM)"* ]] || fail "snapshot: $output"
	prog_stop h
}

@test "hostile: ls, a corrupt segment's message, errors and the exporter's log naming the directory" {
	hostile_start
	printf 'garbage' >"$POOLTAG_DIR/pooltag-999999"
	ptrun ls
	pt_ok
	clean
	[[ $output == *" live "*"  $COMM"* ]] || fail "live row: $output"
	[[ $output == *"  (corrupt segment $PT_TMP/?[31mshm/pooltag-999999: shorter than its header)"* ]] ||
		fail "bad row: $output"
	ptrun used "$POOLTAG_DIR/pooltag-999999"
	clean
	assert_error "^pooltag: .*/\?\[31mshm/pooltag-999999: "
	prog_stop h
	# A directory that is not there: ls's message, the exporter's log line.
	POOLTAG_DIR+=$'\e[0mgone' ptrun ls
	clean
	assert_error "^pooltag: cannot list .*/\?\[31mshm\?\[0mgone: "
	POOLTAG_DIR+=$'\e[0mgone' ptrun exporter --once
	clean
	[ "$stderr" = "pooltag: exporter: cannot list $PT_TMP/?[31mshm?[0mgone: No such file or directory" ] ||
		fail "log: $(cat -v <<<"$stderr")"
}

@test "hostile: mon's plain tables and their sampled paths" {
	hostile_start
	ptrun mon -n 2 -i 0.05 -w 5 "$HPID"
	pt_ok
	clean
	[[ ${lines[0]} == " pid $HPID ($COMM)  "* ]] || fail "head: $output"
	[[ $output == *" Evil Paged"*"$DESC"* ]] || fail "row: $output"
	[[ $output == *" Evil sampled: ~"*" at $SITE"* ]] || fail "sampled path: $output"
	prog_stop h
}

@test "hostile: record and trend, by tag and by site" {
	hostile_start
	ptrun record "$HPID" -o "$PT_TMP/h.rec" --interval 0.05 --duration 0.2
	pt_ok
	clean
	ptrun trend --all "$PT_TMP/h.rec"
	pt_ok
	clean
	[[ ${lines[0]} == " pid $HPID ($COMM): "* ]] || fail "head: $output"
	[[ $output == *" Evil Paged"*"$DESC"* ]] || fail "tag: $output"
	ptrun trend --all --sites "$PT_TMP/h.rec"
	pt_ok
	clean
	[[ $output == *" Evil Paged"*"at $SITE"* ]] || fail "site: $output"
	prog_stop h
}
