#!/usr/bin/env bats
# `pooltag used`: the !poolused table of a live process (examples/tagged)
# and of hand-made snapshots: numbers, layout, flags, sorting, patterns,
# formats and descriptions.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# tagged after 1000 requests, the state most tests read.
tagged_1000() {
	tagged_start
	tagged_work 1000
	tagged_lines
}

@test "used: short layout after 1000 requests" {
	tagged_1000
	ptrun used "$TPID"
	pt_ok
	[ "${lines[0]}" = " pid $TPID (tagged)" ]
	[ "${lines[1]}" = " Sorting by Tag" ]
	[ "${lines[2]}" = " Pool Used:" ]
	[ "${lines[3]}" = "            NonPaged            Paged" ]
	[ "${lines[4]}" = " Tag    Allocs     Used    Allocs     Used" ]
	# Short layout: outstanding count and bytes per pool.
	assert_row "Conn" "0 0 0 0" "Connection state , Binary: tagged"
	assert_row "Hdr " "0 0 1000 56000" "$TAGGED_HDR_DESC"
	assert_row "Key " "0 0 0 0" "$TAGGED_HDR_DESC"
	assert_row "Req " "0 0 0 0" "Request buffers , Binary: tagged"
	assert_row "TOTAL" "0 0 1000 56000"
	assert_order "Conn Hdr Key Req"
	# WinDbg's column widths, and a TAB before the description.
	[ "$(tag_row 'Hdr ')" = "$(printf ' %-4s%9d%9d %9d%9d\t%s' 'Hdr ' 0 0 1000 56000 "$TAGGED_HDR_DESC")" ]
	[ "${#lines[@]}" -eq 10 ]
}

@test "used -v: allocs, frees, diff and bytes per pool" {
	tagged_1000
	ptrun used -v "$TPID"
	pt_ok
	[ "${lines[1]}" = " Sorting by Tag" ]
	[ "${lines[3]}" = "            NonPaged                         Paged" ]
	[ "${lines[4]}" = " Tag    Allocs     Frees     Diff     Used   Allocs     Frees     Diff     Used" ]
	assert_row "Conn" "0 0 0 0 1000 1000 0 0" "Connection state , Binary: tagged"
	assert_row "Hdr " "0 0 0 0 1000 0 1000 56000" "$TAGGED_HDR_DESC"
	assert_row "Key " "1000 1000 0 0 0 0 0 0" "$TAGGED_HDR_DESC"
	assert_row "Req " "0 0 0 0 1000 1000 0 0" "Request buffers , Binary: tagged"
	assert_row "TOTAL" "1000 1000 0 0 3000 2000 1000 56000"
	[ "$(tag_row 'Key ')" = "$(printf ' %-4s%9d%10d%9d%9d%9d%10d%9d%9d   %s' 'Key ' 1000 1000 0 0 0 0 0 0 "$TAGGED_HDR_DESC")" ]
}

@test "used: numbers grow with the work done" {
	tagged_start
	tagged_work 7
	ptrun used 1 "$TPID"
	pt_ok
	assert_row "Hdr " "0 0 0 0 7 0 7 392"
	tagged_work 13
	ptrun used 1 "$TPID"
	pt_ok
	assert_row "Hdr " "0 0 0 0 20 0 20 1120"
	assert_row "Key " "20 20 0 0 0 0 0 0"
	assert_row "TOTAL" "20 20 0 0 60 40 20 1120"
}

@test "used 2: sorting by non-paged bytes" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used 2 "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by NonPaged Pool Consumed" ]
	[ "${lines[4]}" = " Tag    Allocs     Used    Allocs     Used" ]
	assert_order "Cccc Bbbb Aaaa Dddd Zzzz"
}

@test "used 4: sorting by paged bytes" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used 4 "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by Paged Pool Consumed" ]
	assert_order "Dddd Aaaa Cccc Bbbb Zzzz"
}

@test "used 7 behaves as 3: verbose, sorted by non-paged bytes" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used 7 "$PT_TMP/f.snap"
	pt_ok
	seven=$output
	[ "${lines[1]}" = " Sorting by NonPaged Pool Consumed" ]
	[ "${lines[4]}" = " Tag    Allocs     Frees     Diff     Used   Allocs     Frees     Diff     Used" ]
	assert_order "Cccc Bbbb Aaaa Dddd Zzzz"
	ptrun used 3 "$PT_TMP/f.snap"
	pt_ok
	[ "$output" = "$seven" ]
	# 6 has both sort bits: non-paged wins, not verbose.
	ptrun used 6 "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by NonPaged Pool Consumed" ]
	[ "${lines[4]}" = " Tag    Allocs     Used    Allocs     Used" ]
	# Hexadecimal flags, as WinDbg takes them.
	ptrun used 0x7 "$PT_TMP/f.snap"
	pt_ok
	[ "$output" = "$seven" ]
}

@test "used on a hand-made snapshot: sums per tag and the TOTAL row" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used -v "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[0]}" = " pid 4242 (fixture)" ]
	assert_row "Aaaa" "0 0 0 0 10 0 10 1000" "Alpha things , Binary: abin"
	# Distinct functions of the sites, largest first.
	assert_row "Bbbb" "60 56 4 400 0 0 0 0" "Allocated in bfunc (lib/b.c), bfunc2 (lib/b.c) , Binary: fixture"
	assert_row "Cccc" "3 0 3 3000 100 70 30 30" "Allocated in cfunc (lib/c.c) , Binary: fixture"
	assert_row "Dddd" "0 0 0 0 50 30 20 2000" "Allocated in dfunc (lib/d.c) , Binary: fixture"
	assert_row "Zzzz" "0 0 0 0 1 1 0 0" "UNKNOWN pooltag 'Zzzz', please update pooltag.txt"
	assert_row "TOTAL" "63 56 7 3400 161 101 60 3030"
}

@test "used -s: every sort key, and -r" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used -s tag "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by Tag" ]
	assert_order "Aaaa Bbbb Cccc Dddd Zzzz"
	ptrun used -s nonpaged "$PT_TMP/f.snap"
	pt_ok
	assert_order "Cccc Bbbb Aaaa Dddd Zzzz"
	ptrun used --sort paged "$PT_TMP/f.snap"
	pt_ok
	assert_order "Dddd Aaaa Cccc Bbbb Zzzz"
	ptrun used -s diff "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by Outstanding Allocations (Diff)" ]
	assert_order "Cccc Dddd Aaaa Bbbb Zzzz"
	ptrun used -s allocs "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by Allocations" ]
	assert_order "Cccc Bbbb Dddd Aaaa Zzzz"
	ptrun used -r "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = " Sorting by Tag (reversed)" ]
	assert_order "Zzzz Dddd Cccc Bbbb Aaaa"
	ptrun used -s paged -r "$PT_TMP/f.snap"
	pt_ok
	assert_order "Zzzz Bbbb Cccc Aaaa Dddd"
}

@test "used PATTERN: 'Re*' and '?eq ' select Req only" {
	tagged_1000
	for pat in 'Re*' '?eq ' 'Req' 'R*'; do
		ptrun used -v "$pat" "$TPID"
		pt_ok
		assert_order "Req"
		assert_row "Req " "0 0 0 0 1000 1000 0 0" "Request buffers , Binary: tagged"
		# TOTAL sums the tags shown.
		assert_row "TOTAL" "0 0 0 0 1000 1000 0 0"
	done
	# With flags before it; and case matters.
	ptrun used 1 '?e*' "$TPID"
	pt_ok
	assert_order "Key Req"
	ptrun used 're*' "$TPID"
	pt_ok
	assert_order ""
	assert_row "TOTAL" "0 0 0 0"
	ptrun used '*' "$TPID"
	pt_ok
	assert_order "Conn Hdr Key Req"
}

@test "used -t 1: one tag shown, TOTAL still counts all" {
	tagged_1000
	ptrun used -v -t 1 -s paged "$TPID"
	pt_ok
	assert_order "Hdr"
	[ "$(tag_row ...)" = " ... 3 more tags not shown (-t 1)" ]
	assert_row "TOTAL" "1000 1000 0 0 3000 2000 1000 56000"
	ptrun used --top 0 "$TPID"
	pt_ok
	assert_order ""
	assert_row "TOTAL" "0 0 1000 56000"
	ptrun used -t 10 "$TPID"
	pt_ok
	assert_order "Conn Hdr Key Req"
	[[ $output != *"not shown"* ]]
}

@test "used --sites: each tag broken into its call sites" {
	tagged_1000
	ptrun used -v --sites "$TPID"
	pt_ok
	[[ $output == *"  at examples/tagged.c:$HDR_LINE in serve"* ]]
	# The site line follows its tag's line, with the site's own numbers.
	for spec in "Conn:$CONN_LINE:0 0 0 0 1000 1000 0 0" "Hdr :$HDR_LINE:0 0 0 0 1000 0 1000 56000" \
		"Key :$KEY_LINE:1000 1000 0 0 0 0 0 0" "Req :$REQ_LINE:0 0 0 0 1000 1000 0 0"; do
		tag=${spec%%:*} rest=${spec#*:}
		line=${rest%%:*} nums=${rest#*:}
		for i in "${!lines[@]}"; do
			[[ ${lines[$i]} == " $tag "* ]] && break
		done
		site=${lines[$((i + 1))]}
		[[ $site =~ ^\ {5}(( +[0-9]+){8})\ +at\ examples/tagged\.c:$line\ in\ serve$ ]] ||
			fail "site line of '$tag': '$site'"
		[ "$(echo ${BASH_REMATCH[1]})" = "$nums" ] || fail "site numbers of '$tag': '$site'"
	done
	# The table's 14 lines, then only the sampled call paths (sampled.bats).
	[ "${#lines[@]}" -eq 14 ] || [[ ${lines[14]} == " Sampled call paths ("* ]] ||
		fail "after the table: '${lines[14]}'"
}

@test "used --sites on a snapshot: two sites of one tag, largest first" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used -v --sites Bbbb "$PT_TMP/f.snap"
	pt_ok
	[[ ${lines[6]} =~ ^\ {5}\ +40\ +38\ +2\ +300\ +0\ +0\ +0\ +0\ +at\ lib/b\.c:5\ in\ bfunc$ ]]
	[[ ${lines[7]} =~ ^\ {5}\ +20\ +18\ +2\ +100\ +0\ +0\ +0\ +0\ +at\ lib/b\.c:9\ in\ bfunc2$ ]]
	# A site without a file is counted by tag.
	ptrun used --sites Zzzz "$PT_TMP/f.snap"
	pt_ok
	[[ ${lines[6]} == *"(sites beyond the table, counted by tag)" ]]
}

@test "used --json parses and has the right numbers" {
	tagged_1000
	ptrun used --json "$TPID"
	pt_ok
	echo "$output" | python3 -c 'import json,sys; json.load(sys.stdin)'
	json_eq 'd["format"], d["version"], d["pid"], d["command"], d["sort"]' \
		"('pooltag-used', 2, $TPID, 'tagged', 'tag')"
	json_eq '[t["tag"] for t in d["tags"]]' "['Conn', 'Hdr ', 'Key ', 'Req ']"
	json_eq 'tag("Hdr ")["paged"]' "{'allocs': 1000, 'frees': 0, 'diff': 1000, 'used': 56000}"
	json_eq 'tag("Hdr ")["nonpaged"]' "{'allocs': 0, 'frees': 0, 'diff': 0, 'used': 0}"
	json_eq 'tag("Key ")["nonpaged"]' "{'allocs': 1000, 'frees': 1000, 'diff': 0, 'used': 0}"
	json_eq 'tag("Req ")["paged"]' "{'allocs': 1000, 'frees': 1000, 'diff': 0, 'used': 0}"
	json_eq 'tag("Conn")["description"]' "Connection state , Binary: tagged"
	json_eq 'tag("Hdr ")["description"]' "$TAGGED_HDR_DESC"
	json_eq 'd["total"]["paged"]' "{'allocs': 3000, 'frees': 2000, 'diff': 1000, 'used': 56000}"
	json_eq 'd["total"]["nonpaged"]' "{'allocs': 1000, 'frees': 1000, 'diff': 0, 'used': 0}"
	json_eq '"sites" in d["tags"][0]' False
	ptrun used --json --sites -s paged "$TPID"
	pt_ok
	json_eq 'd["sort"], d["tags"][0]["tag"]' "('paged', 'Hdr ')"
	json_eq 'tag("Hdr ")["sites"]' "[{'file': 'examples/tagged.c', 'line': $HDR_LINE, 'function': 'serve', 'module': 'tagged', 'pool': 'paged', 'counts': {'allocs': 1000, 'frees': 0, 'diff': 1000, 'used': 56000}}]"
	json_eq 'tag("Key ")["sites"][0]["pool"], tag("Key ")["sites"][0]["line"]' "('nonpaged', $KEY_LINE)"
	# -t limits the tags, never the totals.
	ptrun used --json -t 1 "$TPID"
	pt_ok
	json_eq 'len(d["tags"]), d["total"]["paged"]["allocs"]' "(1, 3000)"
}

@test "used --json escapes strings" {
	write_snap "$PT_TMP/q.snap" 'desc|Qqqq||say "hi" \ %09tab' 'site|Qqqq|paged|2|1|20|10|1|a.c|f'
	ptrun used --json "$PT_TMP/q.snap"
	pt_ok
	json_eq 'tag("Qqqq")["description"]' 'say "hi" \ ?tab , Binary: fixture'
}

@test "used --csv: one row per tag and pool, or per site" {
	tagged_1000
	ptrun used --csv "$TPID"
	pt_ok
	[ "${lines[0]}" = "tag,pool,file,line,function,allocs,frees,diff,used,description" ]
	[ "${lines[1]}" = '"Conn",paged,"",0,"",1000,1000,0,0,"Connection state , Binary: tagged"' ]
	[ "${lines[2]}" = "\"Hdr \",paged,\"\",0,\"\",1000,0,1000,56000,\"$TAGGED_HDR_DESC\"" ]
	[ "${lines[3]}" = "\"Key \",nonpaged,\"\",0,\"\",1000,1000,0,0,\"$TAGGED_HDR_DESC\"" ]
	[ "${lines[4]}" = '"Req ",paged,"",0,"",1000,1000,0,0,"Request buffers , Binary: tagged"' ]
	[ "${#lines[@]}" -eq 5 ]
	ptrun used --csv --sites "$TPID"
	pt_ok
	[ "${lines[2]}" = "\"Hdr \",paged,\"examples/tagged.c\",$HDR_LINE,\"serve\",1000,0,1000,56000,\"$TAGGED_HDR_DESC\"" ]
	[ "${#lines[@]}" -eq 5 ]
	# Python's csv module reads it back.
	echo "$output" | python3 -c '
import csv, sys
rows = list(csv.DictReader(sys.stdin))
assert len(rows) == 4, rows
assert sum(int(r["used"]) for r in rows) == 56000, rows'
}

@test "used --csv on a snapshot: a tag in both pools gives two rows" {
	fixture_snap "$PT_TMP/f.snap"
	ptrun used --csv Cccc "$PT_TMP/f.snap"
	pt_ok
	[ "${lines[1]}" = '"Cccc",nonpaged,"",0,"",3,0,3,3000,"Allocated in cfunc (lib/c.c) , Binary: fixture"' ]
	[ "${lines[2]}" = '"Cccc",paged,"",0,"",100,70,30,30,"Allocated in cfunc (lib/c.c) , Binary: fixture"' ]
	[ "${#lines[@]}" -eq 3 ]
}

@test "descriptions: from --tags FILE, three-character tags padded" {
	tagged_1000
	printf 'rem my tags\nHdr - tagged - Header cache\n\nKey  - keystore - Session keys\n' >"$PT_TMP/my.txt"
	ptrun used --tags "$PT_TMP/my.txt" "$TPID"
	pt_ok
	assert_row "Hdr " "0 0 1000 56000" "Header cache , Binary: tagged"
	assert_row "Key " "0 0 0 0" "Session keys , Binary: keystore"
	assert_row "Conn" "0 0 0 0" "Connection state , Binary: tagged"
}

@test "descriptions: from \$POOLTAG_TAGS; --tags files win over it, earlier files first" {
	tagged_1000
	printf 'Hdr - envbin - From the environment\nKey - envbin - Env keys\n' >"$PT_TMP/env.txt"
	printf 'Hdr - one - First file\n' >"$PT_TMP/one.txt"
	printf 'Hdr - two - Second file\nKey - two - Second keys\n' >"$PT_TMP/two.txt"
	POOLTAG_TAGS="$PT_TMP/env.txt" ptrun used "$TPID"
	pt_ok
	assert_row "Hdr " "0 0 1000 56000" "From the environment , Binary: envbin"
	POOLTAG_TAGS="$PT_TMP/env.txt" ptrun used --tags "$PT_TMP/one.txt" --tags "$PT_TMP/two.txt" "$TPID"
	pt_ok
	assert_row "Hdr " "0 0 1000 56000" "First file , Binary: one"
	assert_row "Key " "0 0 0 0" "Second keys , Binary: two"
}

@test "descriptions: the program's own (pt_tag_describe) win over tag files" {
	tagged_1000
	printf 'Conn - other - From a file\nReq - other - From a file\n' >"$PT_TMP/my.txt"
	POOLTAG_TAGS="$PT_TMP/my.txt" ptrun used --tags "$PT_TMP/my.txt" "$TPID"
	pt_ok
	assert_row "Conn" "0 0 0 0" "Connection state , Binary: tagged"
	assert_row "Req " "0 0 0 0" "Request buffers , Binary: tagged"
}

@test "descriptions: a tag without description or site is UNKNOWN" {
	write_snap "$PT_TMP/u.snap" 'site|Zzzz|paged|3|1|30|10|0||' 'site|Yyyy|nonpaged|1|0|8|0|0||'
	ptrun used "$PT_TMP/u.snap"
	pt_ok
	assert_row "Yyyy" "1 8 0 0" "UNKNOWN pooltag 'Yyyy', please update pooltag.txt"
	assert_row "Zzzz" "0 0 2 20" "UNKNOWN pooltag 'Zzzz', please update pooltag.txt"
	# A tag file names it.
	printf 'Zzzz - zz - Now known\n' >"$PT_TMP/z.txt"
	ptrun used --tags "$PT_TMP/z.txt" "$PT_TMP/u.snap"
	pt_ok
	assert_row "Zzzz" "0 0 2 20" "Now known , Binary: zz"
}

@test "descriptions: the installed pooltag.txt beside the executable" {
	# The CLI looks one directory up (an installed tree, build/) and two
	# (build/asan/ in the source tree); install.bats tests an installed tree.
	[ -r "$PT_BUILD/../share/pooltag/pooltag.txt" ] ||
		[ -r "$PT_BUILD/../../share/pooltag/pooltag.txt" ] ||
		fail "no share/pooltag/pooltag.txt one or two directories above $PT_BUILD"
	write_snap "$PT_TMP/p.snap" 'site|Proc|nonpaged|5|1|500|100|0||' 'site|SeXy|paged|1|0|8|0|0||'
	ptrun used "$PT_TMP/p.snap"
	pt_ok
	assert_row "Proc" "4 400 0 0" "Process objects , Binary: demohost"
	# A wildcard row describes the tags it matches.
	assert_row "SeXy" "0 0 1 8" "Security structures , Binary: demohost"
	# A file of the user's wins over the installed one.
	printf 'Proc - mine - My processes\n' >"$PT_TMP/my.txt"
	ptrun used --tags "$PT_TMP/my.txt" "$PT_TMP/p.snap"
	pt_ok
	assert_row "Proc" "4 400 0 0" "My processes , Binary: mine"
}

@test "used --help prints the usage and succeeds" {
	ptrun used --help
	pt_ok
	[[ ${lines[0]} == "usage: pooltag used [FLAGS] [PATTERN] PID|SNAPSHOT|DUMP|kernel" ]]
	# Every long option the help lists is one the command takes, and the
	# options it takes are all listed.
	local opts o
	opts=$(printf '%s\n' "${lines[@]}" | grep -oE -- '--[a-z-]+' | sort -u | tr '\n' ' ')
	[ "$opts" = "--csv --json --max-freed --min-allocs --reverse --sites --sort --suspects --tags --top --verbose " ] ||
		fail "options listed: $opts"
	fixture_snap "$PT_TMP/f.snap"
	printf 'Aaaa - a - A\n' >"$PT_TMP/t.txt"
	for o in --csv --json --reverse --sites --suspects --verbose; do
		ptrun used "$o" "$PT_TMP/f.snap"
		pt_ok
	done
	for o in "--sort paged" "--top 1" "--tags $PT_TMP/t.txt" "--suspects --min-allocs 1" "--suspects --max-freed 50"; do
		ptrun used $o "$PT_TMP/f.snap"
		pt_ok
	done
	ptrun used --no-such-option "$PT_TMP/f.snap"
	assert_usage_error "unknown"
}
