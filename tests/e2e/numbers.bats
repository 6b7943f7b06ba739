#!/usr/bin/env bats
# Exact numbers on the paths the other files do not take: more threads than
# counter shards, unbalanced tags in the exporter's byte counters,
# references and handles in diff, nested providers and a plugin reloaded at
# the same address in unload reports, the special pool's fill on either
# side, trend's rise of a single block, pasted dumps with wrapped counters.
# Each test fails when its path is broken (docs/testing.md lists the bugs
# planted to check that).

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

@test "numbers: more threads than shards: used, snap and the exporter count the shared shard" {
	[ -x "$PROGS/threads" ] || fail "build $PROGS/threads first (make $PROGS/threads)"
	# 2 shards for 6 threads: the threads beyond the first count in the
	# shared shard 0.
	POOLTAG_MAX_SHARDS=2 prog_start th "$PROGS/threads" 6
	prog_expect th 'pid [0-9]+'
	pid=${REPLY#pid }
	prog_expect th running
	prog_send th stop
	declare -A na nb
	for tag in ThrA ThrB ThrN; do
		prog_expect th "total $tag [0-9]+ [0-9]+ [0-9]+"
		read -r _ _ na[$tag] _ nb[$tag] <<<"$REPLY"
	done
	prog_expect th quiescent
	ptrun used --json "$pid"
	pt_ok
	json_eq 'tag("ThrA")["paged"]' "{'allocs': ${na[ThrA]}, 'frees': ${na[ThrA]}, 'diff': 0, 'used': 0}"
	json_eq 'tag("ThrB")["paged"]' "{'allocs': ${na[ThrB]}, 'frees': ${na[ThrB]}, 'diff': 0, 'used': 0}"
	json_eq 'tag("ThrN")["nonpaged"]' "{'allocs': ${na[ThrN]}, 'frees': ${na[ThrN]}, 'diff': 0, 'used': 0}"
	ptrun exporter --once
	pt_ok
	local l="pid=\"$pid\",comm=\"threads\"" tag pool
	for tag in ThrA ThrB ThrN; do
		pool=paged
		[ "$tag" != ThrN ] || pool=nonpaged
		[ "$(metric "pooltag_allocations_total{$l,tag=\"$tag\",pool=\"$pool\"}")" = "${na[$tag]}" ]
		[ "$(metric "pooltag_frees_total{$l,tag=\"$tag\",pool=\"$pool\"}")" = "${na[$tag]}" ]
		[ "$(metric "pooltag_allocated_bytes_total{$l,tag=\"$tag\",pool=\"$pool\"}")" = "${nb[$tag]}" ]
		[ "$(metric "pooltag_freed_bytes_total{$l,tag=\"$tag\",pool=\"$pool\"}")" = "${nb[$tag]}" ]
	done
	ptrun snap "$pid" -o "$PT_TMP/t.snap"
	pt_ok
	for tag in ThrA ThrB ThrN; do
		[ "$(awk -F'\t' -v t="$tag" '$1 == "site" && $2 == t { n += $4; b += $6 } END { print n, b }' "$PT_TMP/t.snap")" = "${na[$tag]} ${nb[$tag]}" ] ||
			fail "$tag in the snapshot: $(grep "$tag" "$PT_TMP/t.snap")"
	done
	prog_send th quit
	prog_stop th
}

# metric NAME{LABELS}: the value of that one sample in $output.
metric() {
	local l n=0 v=
	while IFS= read -r l; do
		if [[ $l == "$1 "* ]]; then
			v=${l#"$1 "}
			n=$((n + 1))
		fi
	done <<<"$output"
	[ "$n" -eq 1 ] || fail "$n samples '$1' in:"$'\n'"$output" || return 1
	printf '%s\n' "$v"
}

@test "numbers: the exporter's byte counters of a tag never freed and of one freed" {
	tagged_start
	tagged_work 12
	ptrun exporter --once
	pt_ok
	local l="pid=\"$TPID\",comm=\"tagged\""
	# "Hdr ": 12 blocks of 56 bytes, none freed.
	[ "$(metric "pooltag_allocated_bytes_total{$l,tag=\"Hdr \",pool=\"paged\"}")" = 672 ]
	[ "$(metric "pooltag_freed_bytes_total{$l,tag=\"Hdr \",pool=\"paged\"}")" = 0 ]
	[ "$(metric "pooltag_outstanding_bytes{$l,tag=\"Hdr \",pool=\"paged\"}")" = 672 ]
	[ "$(metric "pooltag_allocations_total{$l,tag=\"Hdr \",pool=\"paged\"}")" = 12 ]
	[ "$(metric "pooltag_frees_total{$l,tag=\"Hdr \",pool=\"paged\"}")" = 0 ]
	# "Req ": every request's buffer freed.
	[ "$(metric "pooltag_allocated_bytes_total{$l,tag=\"Req \",pool=\"paged\"}")" = "$(req_bytes 12)" ]
	[ "$(metric "pooltag_freed_bytes_total{$l,tag=\"Req \",pool=\"paged\"}")" = "$(req_bytes 12)" ]
	[ "$(metric "pooltag_outstanding_bytes{$l,tag=\"Req \",pool=\"paged\"}")" = 0 ]
}

# seed_wait COUNT NAME: the seed's host with the leaking driver, COUNT
# processes, as program NAME, read until it waits after the unload; sets
# HPID.
seed_wait() {
	local seed="$PT_BUILD/examples/seed"
	HPID=
	prog_start "$2" "$seed/host" "$seed/libsey.so" "$1"
	while prog_read "$2"; do
		if [[ $REPLY =~ ^host:\ driver\ unloaded\;\ pid\ ([0-9]+)\ waiting ]]; then
			HPID=${BASH_REMATCH[1]}
			return 0
		fi
	done
	fail "host did not reach the wait; stderr: $(cat "$PT_TMP/$2.err")"
}

@test "numbers: diff lists the references and handles a driver leaks as suspects, exactly" {
	seed_wait 300 a
	ptrun snap "$HPID" -o "$PT_TMP/old.snap"
	pt_ok
	seed_wait 600 b
	ptrun snap "$HPID" -o "$PT_TMP/new.snap"
	pt_ok
	ptrun diff "$PT_TMP/old.snap" "$PT_TMP/new.snap"
	pt_ok
	# Every row's numbers, from the two files themselves; the references
	# and handles of "Proc" grew and must be suspects.
	python3 - "$PT_TMP/old.snap" "$PT_TMP/new.snap" "$output" <<'EOF'
import sys
names = {"paged": "Paged", "nonpaged": "NonPaged", "refs": "Refs", "handles": "Handles"}
def sums(path):
    s = {}
    for l in open(path):
        f = l.rstrip("\n").split("\t")
        if f[0] == "site":
            k = (f[1], names[f[2]])
            a = s.get(k, [0, 0, 0, 0])
            s[k] = [a[0] + int(f[3]), a[1] + int(f[4]), a[2] + int(f[5]), a[3] + int(f[6])]
    return s
old, new = sums(sys.argv[1]), sums(sys.argv[2])
section, rows = None, {}
for l in sys.argv[3].split("\n"):
    if l.startswith(" Leak suspects"):
        section = "suspects"
    elif l.startswith(" Other changes"):
        section = "other"
    elif section and l.startswith(" ") and not l.startswith(" Tag ") and l.strip():
        w = l[5:].split()
        rows[(l[1:5], w[0])] = (section, [int(x) for x in w[1:7]])
def want(k):
    o, n = old.get(k, [0, 0, 0, 0]), new.get(k, [0, 0, 0, 0])
    do, dn = o[0] - o[1], n[0] - n[1]
    uo, un = o[2] - o[3], n[2] - n[3]
    return [dn - do, un - uo, n[0] - o[0], n[1] - o[1], dn, un]
for k, (section, got) in rows.items():
    assert got == want(k), (k, got, want(k))
for k in (("Proc", "Refs"), ("Proc", "Handles")):
    assert k in rows and rows[k][0] == "suspects", (k, rows.get(k), sys.argv[3])
    assert rows[k][1][0] > 0, rows[k]
EOF
	# The handles the driver leaked: one per process it failed on.
	[[ $output =~ $'\n'\ Proc\ Handles\ +\+([0-9]+)\  ]] || fail "$output"
	local k ok300=0 ok600=0
	for ((k = 0; k < 600; k += 128)); do
		if (((1000 + 4 * k) % 97 != 0)); then
			((k >= 300)) || ok300=$((ok300 + 1))
			ok600=$((ok600 + 1))
		fi
	done
	[ "${BASH_REMATCH[1]}" = $(((600 - ok600) - (300 - ok300))) ]
	# Enter: each host releases what the driver left and exits 0.
	for h in a b; do
		prog_send "$h" ""
		prog_expect "$h" 'host: closed [0-9]+ leaked handles?, released the references held on [0-9]+ process objects?'
		prog_expect "$h" 'host: all process objects deleted; exiting'
		prog_stop "$h"
	done
}

# modhost_run MODE: tests/progs/modhost with the test plugin; its standard
# output in $output, the unload reports in $stderr; sets LINE_x for each
# "line x N" it printed.
modhost_run() {
	local l
	[ -x "$PROGS/modhost" ] || fail "build $PROGS/modhost first"
	# The plugin leaks on purpose (what the verifier must report): in the
	# sanitizer build LeakSanitizer would fail the run for the same blocks.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		run --separate-stderr timeout -k 5 60 "$PROGS/modhost" "$PT_BUILD/tests/plugins/modplug.so" "$1"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	for l in "${lines[@]}"; do
		[[ $l =~ ^line\ ([a-z_]+)\ ([0-9]+)$ ]] && printf -v "LINE_${BASH_REMATCH[1]}" %s "${BASH_REMATCH[2]}"
	done
	return 0
}

MPCT_LINE="  modplug.so holds 1 paged block of 'MpCt' (24 bytes): allocated at modplug.c:"

@test "numbers: nested providers: the outermost PT_ON_BEHALF takes the charge" {
	modhost_run nested
	local ct
	ct=$(src_line tests/plugins/modplug.c 'pt_alloc(PT_PAGED, 24, "MpCt")')
	[ "$stderr" = "pooltag: verifier: modplug.so unloaded holding what it acquired:
$MPCT_LINE$ct in modplug_ctor
  modplug.so holds 1 reference to 'MhPv' objects (Provided): 1 acquired at modplug.c:$LINE_modplug_nested in modplug_nested" ] ||
		fail "stderr: $stderr"
}

@test "numbers: a plugin reloaded at the same address is charged only with what it took since" {
	POOLTAG_TRACK=stacks modhost_run epoch
	local ct a1 a2
	ct=$(src_line tests/plugins/modplug.c 'pt_alloc(PT_PAGED, 24, "MpCt")')
	a1=$(sed -n 's/^loaded 1 at //p' <<<"$output")
	a2=$(sed -n 's/^loaded 2 at //p' <<<"$output")
	# The point of the test is the same address; the loader decides it.
	[ "$a1" = "$a2" ] || skip "the plugin was reloaded at another address ($a1, $a2)"
	[ "$stderr" = "pooltag: verifier: modplug.so unloaded holding what it acquired:
$MPCT_LINE$ct in modplug_ctor
  modplug.so holds 1 reference to 'MhPv' objects (Provided): 1 acquired at modhost.c:$LINE_prov_lookup in prov_lookup_impl (through this module's code, see the stack)
    stack: prov_lookup_impl (modhost.c:$LINE_prov_lookup) <- modplug_nobehalf (modplug.c:$LINE_modplug_nobehalf) <- main (modhost.c:$(src_line tests/progs/modhost.c 'got = SYM(m, modplug_nobehalf)(t, 7);'))
pooltag: verifier: modplug.so unloaded holding what it acquired:
$MPCT_LINE$ct in modplug_ctor" ] || fail "stderr: $stderr"
}

@test "numbers: the special pool checks the fill before a block (guard after) and after it (guard before)" {
	local mis="$PROGS/misuser" alloc
	alloc=$(src_line tests/progs/misuser.c 'char *p = pt_alloc(PT_PAGED, 40, "Bug1");')
	# Guard after: the byte 17 below the block is in the fill before its
	# header, found when the block is freed.
	run --separate-stderr env POOLTAG="special=Bug1" timeout -k 5 60 "$mis" padunder </dev/null
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = done ]
	[[ ${stderr_lines[0]} =~ ^pooltag:\ special\ pool:\ underrun\ of\ block\ 0x[0-9a-f]+\ \(tag\ \'Bug1\',\ 40\ bytes\)\ found\ at\ free:\ the\ fill\ before\ its\ header\ is\ overwritten\ 17\ to\ 17\ bytes\ before\ its\ start ]] ||
		fail "stderr: $stderr"
	[[ $stderr == *"allocated at tests/progs/misuser.c:$alloc (alloc_here)"* ]] || fail "stderr: $stderr"
	# Guard before: the bytes after the block are fill up to the page's end.
	run --separate-stderr env POOLTAG="special=Bug1,special.guard=before" timeout -k 5 60 "$mis" slack </dev/null
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$output" = done ]
	[[ ${stderr_lines[0]} =~ ^pooltag:\ special\ pool:\ overrun\ of\ block\ 0x[0-9a-f]+\ \(tag\ \'Bug1\',\ 40\ bytes\)\ found\ at\ free:\ the\ fill\ after\ its\ end\ is\ overwritten\ at\ offsets\ 40-40\ \(0\ to\ 0\ bytes\ past\ the\ end\) ]] ||
		fail "stderr: $stderr"
	# And a clean block under either guard reports nothing.
	for g in after before; do
		run --separate-stderr env POOLTAG="special=Bug1,special.guard=$g" timeout -k 5 60 "$mis" clean </dev/null
		[ "$status" -eq 0 ] && [ -z "$stderr" ] && [ "$output" = done ] || fail "guard $g: $status $stderr"
	done
}

# A recording by hand (docs/recording-format.md): samples 0.1 s apart.
write_rec() {
	local f=$1 l
	shift
	{
		printf 'pooltag-recording 1\npid 4242\nuid 0\ncommand fixture\n'
		printf 'created 1700000000000000000\nstart_ticks 1\ninterval_us 100000\n'
		for l in "$@"; do
			printf '%s\n' "${l//|/$'\t'}"
		done
	} >"$f"
}

@test "numbers: trend: a rise of a single block that comes back is 'returns', never a leak" {
	# Rise: 10 outstanding, 11, then 10 again; Step: 10, 11, 11, 11, 11;
	# Flat: 10 throughout.
	write_rec "$PT_TMP/r.rec" \
		'sample|1700000000000000000|3' \
		'site|Rise|paged|10|0|1000|0|5|f.c|fn|bin' \
		'site|Flat|paged|10|0|1000|0|6|f.c|fn|bin' \
		'site|Step|paged|10|0|1000|0|7|f.c|fn|bin' \
		'sample|1700000000100000000|2' \
		'count|0|11|0|1100|0' \
		'count|2|11|0|1100|0' \
		'sample|1700000000200000000|1' \
		'count|0|11|1|1100|100' \
		'sample|1700000000300000000|0' \
		'sample|1700000000400000000|0'
	ptrun trend --all --json "$PT_TMP/r.rec"
	pt_ok
	# Step fits a line badly (R2 0.5): irregular.
	json_eq 'sorted((s["tag"], s["shape"], s["leak"]) for s in d["series"])' \
		"[('Flat', 'flat', False), ('Rise', 'returns', False), ('Step', 'irregular', False)]"
	ptrun trend "$PT_TMP/r.rec"
	pt_ok
	[ "${lines[1]}" = " No leak: no tag grew steadily." ]
}

@test "numbers: a pasted !poolused dump whose 32-bit counters wrapped negative" {
	printf '%s\n' \
		' Tag    Allocs    Frees     Diff     Used   Allocs    Frees     Diff     Used' \
		' Wrap      100      -96      196     3136        0        0        0        0' \
		' Sign -2147483000 -2147483100 100 1600       7        2        5       80' \
		' Okay        5        2        3       48        0        0        0        0' >"$PT_TMP/w.txt"
	ptrun used --json "$PT_TMP/w.txt"
	pt_ok
	json_eq 'tag("Wrap")["nonpaged"]' "{'allocs': 4294967396, 'frees': 4294967200, 'diff': 196, 'used': 3136}"
	json_eq 'tag("Sign")["nonpaged"]' "{'allocs': 2147484296, 'frees': 2147484196, 'diff': 100, 'used': 1600}"
	json_eq 'tag("Sign")["paged"]' "{'allocs': 7, 'frees': 2, 'diff': 5, 'used': 80}"
	json_eq 'tag("Okay")["nonpaged"]' "{'allocs': 5, 'frees': 2, 'diff': 3, 'used': 48}"
	json_eq 'd["total"]["nonpaged"]' "{'allocs': 6442451697, 'frees': 6442451398, 'diff': 299, 'used': 4784}"
}
