#!/usr/bin/env bats
# Windows dumps as targets: text saved from WinDbg's !poolused and PoolMon's
# snapshot files read by `pooltag used` and `pooltag diff`, their tags looked
# up in tag files, `used --suspects` on a dump taken after a driver was
# unloaded (and on a live process), and files that are no dump at all.

load helpers

setup() {
	pt_setup
	DATA="$PT_SRC/tests/data"
	AFTER="$DATA/seed-after.txt"
	BEFORE="$DATA/seed-before.txt"
	SEYTAGS="$DATA/pooltag-sey.txt"
}

teardown() {
	pt_teardown
}

# assert_stderr LINE...: stderr is exactly these lines.
assert_stderr() {
	local want
	want=$(printf '%s\n' "$@")
	[ "$stderr" = "$want" ] || fail "stderr: '$stderr'"$'\n'"expected: '$want'"
}

# text_row TAG: TAG's row of the output with runs of blanks squeezed.
text_row() {
	local l
	l=$(tag_row "$1") || fail "no row for '$1' in:"$'\n'"$output" || return 1
	echo $l
}

@test "used: a verbose !poolused dump after unload, with its prompt and noise" {
	ptrun used 1 "$AFTER"
	[ "$status" -eq 0 ]
	assert_stderr "pooltag: note: $AFTER: 10 lines not understood, skipped"
	[ "${lines[0]}" = " dump $AFTER (!poolused)" ]
	assert_row Proc "12980 1 12979 8618056 0 0 0 0" "Process objects , Binary: nt!ps"
	assert_row SePa "955604 942626 12978 2247904 17 16 1 16" \
		"Process audit image names and captured policy structures , Binary: nt!se"
	assert_row SeTd "372125 359104 13021 833344 372125 359104 13021 1145088"
	assert_row "Io  " "1021112 1020985 127 91912 0 0 0 0" "general IO allocations , Binary: nt!io"
	assert_row File "2866104 2857630 8474 3255712 0 0 0 0" "File objects"
	# The dump's UNKNOWN descriptions give way to the tag database.
	assert_row SEY1 "0 0 0 0 54507 54507 0 0" "UNKNOWN pooltag 'SEY1', please update pooltag.txt"
	assert_row TOTAL "10643243 10589886 53357 19301960 467884 435065 32819 92850448"
	assert_order "CM31 Even File Io Ntfx Pool Proc SEY1 SEY4 SEYC SePa SeTd Thre"

	ptrun used 1 'SEY?' "$AFTER" --tags "$SEYTAGS"
	[ "$status" -eq 0 ]
	assert_order "SEY1 SEY4 SEYC"
	assert_row SEY1 "0 0 0 0 54507 54507 0 0" "Process notify contexts , Binary: sey.sys"
	assert_row SEYC "1448369 1448369 0 0 0 0 0 0" "Image path buffers , Binary: sey.sys"

	# Sorted by non-paged bytes, as the dump was.
	ptrun used 2 "$AFTER"
	[ "$status" -eq 0 ]
	assert_order "Proc File SePa Thre Pool SeTd Ntfx Even Io CM31 SEY1 SEY4 SEYC"
}

@test "used: the normal layout has outstanding counts only, and says so" {
	f="$DATA/poolused-0.txt"
	ptrun used "$f"
	[ "$status" -eq 0 ]
	assert_stderr "pooltag: note: $f: 2 lines not understood, skipped"
	assert_row Proc "12979 8618056 0 0" "Process objects , Binary: nt!ps"
	assert_row "Io  " "127 91912 0 0"
	assert_row "AGP " "1 344 2 384" "UNKNOWN pooltag 'AGP ', please update pooltag.txt"
	assert_row TOTAL "35249 9913344 13024 1145976"
	# Verbose: allocations and frees are unknown, not zero.
	ptrun used -v "$f"
	[ "$(text_row SeTd)" = "SeTd - - 13021 833344 - - 13021 1145088 Security Token dynamic part , Binary: nt!se" ]
	ptrun used --json "$f"
	[ "$status" -eq 0 ]
	json_eq 'tag("Proc")["nonpaged"]' "{'allocs': None, 'frees': None, 'diff': 12979, 'used': 8618056}"
	json_eq 'd["import"]' "{'file': '$f', 'format': '!poolused'}"
	json_eq 'd["pid"]' 0
	ptrun used --csv Proc "$f"
	[ "${lines[1]}" = '"Proc",nonpaged,"",0,"",,,12979,8618056,"Process objects , Binary: nt!ps"' ]
}

@test "used: WinDbg's wide layout, !poolused 2 then !poolused 4: the last table" {
	f="$DATA/poolused-2-4.txt"
	ptrun used "$f"
	[ "$status" -eq 0 ]
	assert_stderr "pooltag: note: $f: 2 tables, the last one (line 46) is read" \
		"pooltag: note: $f: 20 lines not understood, skipped"
	assert_row EtwB "148 5206272 16 442368" "Etw Buffer , Binary: nt!etw"
	assert_row ConT "535 5935104 0 0" "UNKNOWN pooltag 'ConT', please update pooltag.txt"
	assert_order "CM31 ConT EtwB File MmSt NtxF Thre"
}

@test "used: a PoolMon snapshot file (poolmon /n, CRLF, two snapshots appended)" {
	f="$DATA/poolmon-snap.log"
	ptrun used 1 "$f" --tags "$SEYTAGS"
	[ "$status" -eq 0 ]
	assert_stderr "pooltag: note: $f: 2 tables, the last one (line 15) is read"
	[ "${lines[0]}" = " dump $f (poolmon)" ]
	assert_row Proc "12980 1 12979 8618056 0 0 0 0" "Process objects , Binary: demohost"
	assert_row SeTd "372125 359104 13021 833344 372125 359104 13021 1145088"
	assert_row SEY4 "1186033 1186033 0 0 0 0 0 0" "Rule match buffers , Binary: sey.sys"
	assert_row "Io  " "1021112 1020985 127 91912 0 0 0 0"
}

@test "used: UTF-16 text, as Windows PowerShell saves a redirect" {
	iconv -f UTF-8 -t UTF-16 "$AFTER" >"$PT_TMP/after16.txt"
	[ "$(head -c 2 "$PT_TMP/after16.txt" | od -An -tx1 | tr -d ' ')" = fffe ]
	ptrun used 1 Proc "$PT_TMP/after16.txt"
	[ "$status" -eq 0 ]
	assert_row Proc "12980 1 12979 8618056 0 0 0 0" "Process objects , Binary: nt!ps"
}

@test "diff: two !poolused dumps, before and after the driver was unloaded" {
	ptrun diff "$BEFORE" "$AFTER" --tags "$SEYTAGS"
	[ "$status" -eq 0 ]
	assert_stderr "pooltag: note: $BEFORE: 8 lines not understood, skipped" \
		"pooltag: note: $AFTER: 10 lines not understood, skipped"
	[ "${lines[0]}" = " Comparing OLD: dump $BEFORE (!poolused) with NEW: dump $AFTER (!poolused)" ]
	[ "$(echo ${lines[1]})" = "Leak suspects: outstanding count and bytes grew" ]
	[ "$(echo ${lines[3]})" = "Proc NonPaged +12790 +8491896 +12790 +0 12979 8618056 Process objects , Binary: nt!ps" ]
	[ "$(echo ${lines[4]} | cut -d' ' -f1-4)" = "SePa NonPaged +12789 +2215344" ]
	[ "$(echo ${lines[5]} | cut -d' ' -f1-3)" = "SeTd Paged +12832" ]
	[ "$(echo ${lines[6]} | cut -d' ' -f1-3)" = "SeTd NonPaged +12832" ]
	printf '%s\n' "${lines[@]}" | grep -q '^ SEY1 Paged .* +54382 .* +54383 .*Process notify contexts , Binary: sey.sys$'
	# A snapshot of the same counters diffs the same way: PoolMon's.
	# PoolMon has no description column: the tag database describes.
	ptrun diff "$BEFORE" "$DATA/poolmon-snap.log"
	[ "$status" -eq 0 ]
	[ "$(echo ${lines[3]})" = "Proc NonPaged +12790 +8491896 +12790 +0 12979 8618056 Process objects , Binary: demohost" ]
}

@test "diff: with a dump of outstanding counts only, allocations and frees are '-'" {
	ptrun diff "$DATA/poolused-0.txt" "$AFTER" -t 50
	[ "$status" -eq 0 ]
	row=$(printf '%s\n' "${lines[@]}" | grep '^ SeTd Paged')
	[ "$(echo $row)" = "SeTd Paged +0 +0 - - 13021 1145088 Security Token dynamic part , Binary: nt!se" ]
	ptrun diff --sites "$DATA/poolused-0.txt" "$AFTER"
	[ "$status" -eq 1 ]
	[ "${stderr_lines[2]}" = "pooltag: $DATA/poolused-0.txt: a !poolused dump has no call sites (--sites)" ]
}

@test "used --suspects: the seed's dump after unload names Proc, and what hangs off it" {
	ptrun used --suspects "$AFTER" --tags "$PT_SRC/share/pooltag/pooltag.txt"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = " dump $AFTER (!poolused)" ]
	[ "${lines[1]}" = " Leak suspects: at least 100 allocations, at most 10% of them freed" ]
	[ "$(echo ${lines[3]})" = "Tag Pool Allocs Frees Diff Used Freed Description" ]
	[ "$(echo ${lines[4]})" = "Proc NonPaged 12980 1 12979 8618056 0.0% Process objects , Binary: nt!ps" ]
	[ "$(echo ${lines[5]})" = "Held with them: outstanding count within 2% of a suspect's" ]
	[ "$(echo ${lines[8]})" = "SePa NonPaged 955604 942626 12978 2247904 98.6% Process audit image names and captured policy structures , Binary: nt!se [like Proc NonPaged]" ]
	[ "$(echo ${lines[9]} | cut -d' ' -f1-7)" = "SeTd Paged 372125 359104 13021 1145088 96.5%" ]
	[ "$(echo ${lines[10]} | cut -d' ' -f1-7)" = "SeTd NonPaged 372125 359104 13021 833344 96.5%" ]
	[ "${#lines[@]}" -eq 11 ]
	# The dump before the stress already shows the pattern, small; the
	# start-up table Pool has too few allocations to judge...
	ptrun used --suspects "$BEFORE"
	[ "$(echo ${lines[4]})" = "Proc NonPaged 190 1 189 126160 0.5% Process objects , Binary: nt!ps" ]
	[ "$(echo ${lines[8]} | cut -d' ' -f1-7)" = "SePa NonPaged 21000 20811 189 32560 99.1%" ]
	[ "${#lines[@]}" -eq 11 ]
	# ...unless the thresholds say so.
	ptrun used --suspects --min-allocs 5 --max-freed 0 "$BEFORE"
	[ "$(echo ${lines[4]} | cut -d' ' -f1-6)" = "Pool NonPaged 5 0 5 1705552" ]
	[ "${#lines[@]}" -eq 5 ]
	ptrun used --suspects --min-allocs 20000 "$AFTER"
	[ "$status" -eq 0 ]
	[ "${lines[3]}" = " None: every tag with at least 20000 allocations freed more than 10% of them." ]
	# A pattern and -t narrow the table.
	ptrun used --suspects 'SE*' "$AFTER"
	[ "$(echo ${lines[3]})" = "None: every tag with at least 100 allocations freed more than 10% of them." ]
	ptrun used --suspects -t 0 "$DATA/poolmon-snap.log"
	[ "${lines[4]}" = " ... 1 more suspects not shown (-t 0)" ]
}

@test "used --suspects: a live process, a snapshot, and refusals" {
	tagged_start
	tagged_work 200
	ptrun used --suspects "$TPID"
	pt_ok
	[ "${lines[0]}" = " pid $TPID (tagged)" ]
	[ "$(echo ${lines[4]})" = "Hdr Paged 200 0 200 11200 0.0% $TAGGED_HDR_DESC" ]
	[ "${#lines[@]}" -eq 5 ]
	ptrun snap "$TPID" -o "$PT_TMP/t.snap"
	pt_ok
	ptrun used --suspects "$PT_TMP/t.snap"
	pt_ok
	[ "$(echo ${lines[4]})" = "Hdr Paged 200 0 200 11200 0.0% $TAGGED_HDR_DESC" ]

	ptrun used --suspects "$DATA/poolused-0.txt"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "pooltag: $DATA/poolused-0.txt: --suspects needs allocations and frees, and this dump has outstanding counts only (save !poolused with flag 1)" ]
	ptrun used --suspects --json "$AFTER"
	assert_usage_error "--suspects has its own order and text table"
	ptrun used --suspects -s diff "$AFTER"
	assert_usage_error "--suspects has its own order"
	ptrun used --suspects --max-freed 101 "$AFTER"
	assert_usage_error "--max-freed is a percentage, 0 to 100, not '101'"
	ptrun used --suspects --min-allocs many "$AFTER"
	assert_usage_error "--min-allocs wants a non-negative number, not 'many'"
}

@test "bad files: not a dump, empty, unreadable; a dump is not snapped" {
	printf 'hello\nworld\n' >"$PT_TMP/hello.txt"
	ptrun used "$PT_TMP/hello.txt"
	assert_error "^pooltag: $PT_TMP/hello.txt: not a snapshot, segment, !poolused or poolmon dump$"
	: >"$PT_TMP/empty"
	ptrun diff "$AFTER" "$PT_TMP/empty"
	[ "$status" -eq 1 ]
	[ "${stderr_lines[1]}" = "pooltag: $PT_TMP/empty: not a snapshot, segment, !poolused or poolmon dump" ]
	head -c 4096 /dev/urandom | tr -d 'Tt' >"$PT_TMP/junk"
	ptrun used "$PT_TMP/junk"
	assert_error "^pooltag: $PT_TMP/junk: not a snapshot, segment, !poolused or poolmon dump$"
	# A table header alone is a dump with nothing in it.
	printf ' Tag    Allocs     Used    Allocs     Used\n' >"$PT_TMP/header"
	ptrun used "$PT_TMP/header"
	pt_ok
	assert_row TOTAL "0 0 0 0"
	ptrun used "$PT_TMP"
	assert_error "^pooltag: cannot read $PT_TMP: Is a directory$"
	ptrun snap "$AFTER" -o "$PT_TMP/a.snap"
	[ "$status" -eq 1 ]
	[ "${stderr_lines[1]}" = "pooltag: $AFTER: a !poolused dump is read as it is, by used and diff; snap saves a process" ]
	[ ! -e "$PT_TMP/a.snap" ]
	ptrun refs "$AFTER"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${stderr_lines[1]}" = "pooltag: $AFTER: a !poolused dump records no references or handles" ]
	ptrun used --sites "$AFTER"
	[ "$status" -eq 1 ]
	[ "${stderr_lines[1]}" = "pooltag: $AFTER: a !poolused dump has no call sites (--sites)" ]
}

@test "used and diff: a paste from a bug tracker, '|' or '*' between the pools, prose between rows" {
	f="$DATA/seed-after-pasted.txt"
	ptrun used 1 "$f"
	[ "$status" -eq 0 ]
	assert_stderr "pooltag: note: $f: 6 lines not understood, skipped"
	[ "${lines[0]}" = " dump $f (!poolused)" ]
	assert_row Proc "12980 1 12979 8618056 0 0 0 0" "Process objects , Binary: nt!ps"
	assert_row SeTd "372125 359104 13021 833344 372125 359104 13021 1145088"
	assert_row "Io  " "1021112 1020985 127 91912 0 0 0 0" "general IO allocations , Binary: nt!io"
	assert_row SEY1 "0 0 0 0 54507 54507 0 0"
	assert_row TOTAL "10643243 10589886 53357 19301960 467884 435065 32819 92850448"
	# The same table as the debugger's own output of it.
	pasted=("${lines[@]:1}")
	ptrun used 1 "$AFTER"
	[ "$status" -eq 0 ]
	[ "$(printf '%s\n' "${lines[@]:1}")" = "$(printf '%s\n' "${pasted[@]}")" ]
	# '*' instead, glued to the numbers on one side.
	sed 's/ | / */' "$f" >"$PT_TMP/star.txt"
	ptrun used 1 Proc "$PT_TMP/star.txt"
	[ "$status" -eq 0 ]
	assert_row Proc "12980 1 12979 8618056 0 0 0 0" "Process objects , Binary: nt!ps"
	# Compared with a dump saved before, as the debugger's output is.
	ptrun diff "$BEFORE" "$f"
	[ "$status" -eq 0 ]
	[ "$(echo ${lines[3]})" = "Proc NonPaged +12790 +8491896 +12790 +0 12979 8618056 Process objects , Binary: nt!ps" ]
	ptrun used --suspects "$f"
	[ "$status" -eq 0 ]
	printf '%s\n' "${lines[@]}" | grep -q '^ Proc NonPaged  *12980  *1  *12979 '
}
