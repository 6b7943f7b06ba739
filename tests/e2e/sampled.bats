#!/usr/bin/env bats
# Sampled stacks (src/sample.h): with no tracking on, `pooltag used PID
# --sites` and the exporter show the call paths of the live memory,
# estimated from about one allocation in 512 KiB (mon.bats: the monitor).  tests/progs/sampler holds 48 MiB through one
# path and 16 MiB through another, from the same allocation site; the seed
# is fixed, so every run samples the same blocks.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# estimate FN: the estimated live MiB of the sampled path through FN, from
# $output ("" if no path goes through FN).
estimate() {
	printf '%s\n' "$output" | awk -v fn="$1" '
		/ sampled: ~/ { est = $0; next }
		est != "" && $0 ~ (" in " fn " ") {
			sub(/.* sampled: ~/, "", est); split(est, w, " ")
			v = w[1]; if (w[2] == "KiB") v /= 1024; if (w[2] == "GiB") v *= 1024
			print v; exit
		}
		{ est = "" }'
}

# within V LO HI: LO <= V <= HI, as decimals.
within() {
	awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v >= lo && v <= hi) }'
}

@test "sampled: two call paths in a 3:1 ratio, estimated, and freed memory drops out" {
	sampler_start
	ptrun used "$SPID" --sites
	pt_ok
	[[ $output == *" Sampled call paths (one allocation in about 512.0 KiB has its stack recorded;"* ]] ||
		fail "no sampled section: $output"
	# Both paths, each from the shared site, through its own caller to main.
	[[ $output == *"Samp sampled: ~"*" MiB live ("*" samples) at tests/progs/sampler.c:"*" in grab"* ]] ||
		fail "no sampled line: $output"
	[[ $output == *"via sampler.c:"*" in build_a <- sampler.c:"*" in main"* ]] || fail "no path a: $output"
	[[ $output == *"via sampler.c:"*" in build_b <- sampler.c:"*" in main"* ]] || fail "no path b: $output"
	a=$(estimate build_a) b=$(estimate build_b)
	# 48 and 16 MiB: about 96 and 32 samples, whose estimates have a
	# standard deviation of about 10 % and 18 %; the bounds are four of them.
	within "$a" 28 68 || fail "path a: ~$a MiB, expected about 48"
	within "$b" 5 28 || fail "path b: ~$b MiB, expected about 16"
	within "$(awk -v a="$a" -v b="$b" 'BEGIN { print a / b }')" 1.5 6 || fail "ratio $a / $b"
	# Path a's biggest: listed first.
	first=$(printf '%s\n' "$output" | grep -m1 -A1 ' sampled: ~' | tail -1)
	[[ $first == *build_a* ]] || fail "path a is not first: $output"

	prog_cmd s free_a
	ptrun used "$SPID" --sites
	pt_ok
	[ -z "$(estimate build_a)" ] || fail "freed path a still shows: $output"
	[ "$(estimate build_b)" = "$b" ] || fail "path b changed: $b, now $(estimate build_b)"
	prog_stop s
}

@test "sampled: used --json --sites has the text's paths, with their frames and estimates" {
	sampler_start
	ptrun used "$SPID" --sites
	pt_ok
	text=$output
	a=$(estimate build_a) b=$(estimate build_b)
	ptrun used "$SPID" --sites --json
	pt_ok
	python3 - "$output" "$text" "$a" "$b" "$(src_line tests/progs/sampler.c 'pt_alloc(PT_PAGED, n, "Samp")')" <<'PY' ||
import json, re, sys
d = json.loads(sys.argv[1])
text, a, b, line = sys.argv[2] + "\n", float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])
s = d["sampled"]
assert s["mean_bytes"] == 512 * 1024 and s["not_recorded"] == 0, s
p = s["paths"]
assert len(p) == 2, p
for x in p:
    assert (x["tag"], x["pool"], x["file"], x["line"], x["function"]) == \
        ("Samp", "paged", "tests/progs/sampler.c", line, "grab"), x
    f = x["frames"]
    assert f[-1]["function"] == "main" and all(y["file"] == "sampler.c" for y in f), f
    assert all(y["module"].endswith("/sampler") and y["offset"] > 0 for y in f), f
    # The text's two lines of the path, from the same numbers.
    mib = x["live_bytes_estimate"] / 2**20
    head = " Samp sampled: ~%.1f MiB live (%d samples) at tests/progs/sampler.c:%d in grab\n" \
        "       via %s\n" % (mib, x["live_samples"], line, x["path"])
    assert head in text, (head, text)
    assert x["path"] == " <- ".join("%s:%d in %s" % (y["file"], y["line"], y["function"])
                                    for y in f), x
# Path a (48 MiB) first, then b (16 MiB): as the text, and in a 3:1 ratio.
assert [x["frames"][0]["function"] for x in p] == ["build_a", "build_b"], p
ea, eb = (x["live_bytes_estimate"] / 2**20 for x in p)
assert abs(ea - a) < 0.06 and abs(eb - b) < 0.06, (ea, a, eb, b)
assert 28 <= ea <= 68 and 5 <= eb <= 28 and 1.5 <= ea / eb <= 6, (ea, eb)
PY
		fail "JSON: $output"
	# Without --sites, as the text: no paths.
	ptrun used "$SPID" --json
	pt_ok
	[[ $output != *'"sampled"'* ]] || fail "without --sites: $output"
	prog_stop s
}

@test "sampled: the exporter's biggest paths with --sites, checked by promtool" {
	sampler_start
	ptrun exporter --once --sites
	pt_ok
	promtool check metrics <<<"$output" || fail "promtool rejects: $output"
	l="pid=\"$SPID\",comm=\"sampler\",tag=\"Samp\",pool=\"paged\",site=\"tests/progs/sampler.c:$(src_line tests/progs/sampler.c 'pt_alloc(PT_PAGED, n, "Samp")')\",function=\"grab\""
	a=$(grep -F "pooltag_sampled_live_bytes{$l,path=\"sampler.c:" <<<"$output" | grep -F ' in build_a <- sampler.c:' | grep -F ' in main"}' | awk '{ print $NF }')
	b=$(grep -F "pooltag_sampled_live_bytes{$l,path=\"sampler.c:" <<<"$output" | grep -F ' in build_b <- ' | awk '{ print $NF }')
	n=$(grep -F "pooltag_sampled_live_blocks{$l," <<<"$output" | grep -F build_a | awk '{ print $NF }')
	# The same estimates as `used --sites` (same seed): 48 and 16 MiB.
	within "$((a >> 20))" 28 68 || fail "path a: $a bytes: $output"
	within "$((b >> 20))" 5 28 || fail "path b: $b bytes: $output"
	within "$n" 40 200 || fail "path a's sampled blocks: $n"
	[ "$(grep -c '^# TYPE pooltag_sampled_live_bytes gauge$' <<<"$output")" -eq 1 ] || fail "TYPE: $output"

	ptrun exporter --once --sites --sampled-paths 1
	pt_ok
	[ "$(grep -c '^pooltag_sampled_live_bytes{' <<<"$output")" -eq 1 ] && [[ $output == *build_a* ]] ||
		fail "--sampled-paths 1: $output"
	ptrun exporter --once --sites --sampled-paths 0
	pt_ok
	[[ $output != *pooltag_sampled_live_bytes\{* ]] || fail "--sampled-paths 0: $output"
	ptrun exporter --once
	pt_ok
	[[ $output != *pooltag_sampled_* ]] || fail "without --sites: $output"
	ptrun exporter --once --sites --sampled-paths some
	assert_usage_error "exporter: --sampled-paths wants a non-negative number, not 'some'"
	prog_stop s
}

@test "sampled: pooltag run --track none samples an unmodified program; tracking turns it off" {
	local up="$PT_BUILD/tests/uprogs/usampler"
	POOLTAG=sample.seed=7 prog_start u "$PT" run --track none -- "$up"
	prog_send u pid
	prog_expect u 'pid [0-9]+'
	upid=${REPLY#pid }
	prog_cmd u alloc
	ptrun used "$upid" --sites
	pt_ok
	[[ $output == *" Sampled call paths (one allocation in about 512.0 KiB"* ]] || fail "no sampled section: $output"
	# The paths start at grab's callers: the interposer's hooks and the
	# site's own frame are left out, as for the library's API.
	[[ $output == *" sampled: ~"*" MiB live ("*" samples) at usampler.c:$(src_line tests/uprogs/usampler.c 'malloc(n)') in grab"* ]] ||
		fail "no sampled line: $output"
	[[ $output == *"       via usampler.c:"*" in build_a <- usampler.c:"*" in main"* ]] || fail "no path a: $output"
	a=$(estimate build_a) b=$(estimate build_b)
	within "$a" 28 68 || fail "path a: ~$a MiB, expected about 48"
	within "$b" 5 28 || fail "path b: ~$b MiB, expected about 16"
	# The free hook takes sampled blocks off their path.
	prog_cmd u free_a
	ptrun used "$upid" --sites
	pt_ok
	[ -z "$(estimate build_a)" ] || fail "freed path a still shows: $output"
	[ "$(estimate build_b)" = "$b" ] || fail "path b changed: $b, now $(estimate build_b)"
	prog_send u quit
	prog_stop u || fail "pooltag run exited with status $?: $(cat "$PT_TMP/u.err")"
	grep -q "exit: clean, nothing held" "$PT_TMP/u.err" || fail "verdict: $(cat "$PT_TMP/u.err")"

	# With blocks tracked (the default), each has its stack: no sampling.
	rm -f "$PT_TMP/u.in" "$PT_TMP/u.out"
	prog_start u "$PT" run -- "$up"
	prog_send u pid
	prog_expect u 'pid [0-9]+'
	upid=${REPLY#pid }
	prog_cmd u alloc
	ptrun used "$upid" --sites
	pt_ok
	[[ $output != *"Sampled call paths"* ]] || fail "sampled while tracking: $output"
	prog_send u quit
	prog_stop u
}

@test "sampled: the same seed samples the same blocks; sample=0 turns sampling off" {
	sampler_start
	ptrun used "$SPID" --sites
	pt_ok
	first=$output
	prog_stop s
	sampler_start
	ptrun used "$SPID" --sites
	pt_ok
	[ "${output#* pid * (sampler)}" = "${first#* pid * (sampler)}" ] || fail "runs differ: $first -- $output"
	prog_stop s

	sampler_start sample=0
	ptrun used "$SPID" --sites
	pt_ok
	[[ $output != *"Sampled call paths"* ]] || fail "sampling was off: $output"
	[[ $output == *" Samp "*"16384 67108864"* ]] || fail "exact counts changed: $output"
	prog_stop s

	# A coarser interval: fewer samples, the same estimate within bounds.
	sampler_start sample=4M,sample.seed=7
	ptrun used "$SPID" --sites
	pt_ok
	[[ $output == *"one allocation in about 4.0 MiB"* ]] || fail "interval: $output"
	within "$(estimate build_a)" 16 96 || fail "path a at 4 MiB: $output"
	prog_stop s
}

@test "sampled: a bad sample= option is reported and skipped" {
	POOLTAG=sample=lots prog_start s "$PROGS/sampler"
	prog_send s pid
	prog_expect s 'pid [0-9]+'
	grep -q "sample=lots" "$PT_TMP/s.err" || fail "no report: $(cat "$PT_TMP/s.err")"
	prog_stop s
}

# patch FILE OFFSET HEX: writes the bytes HEX (e.g. ffff0000) at OFFSET.
patch() {
	printf "$(printf '%s' "$3" | sed 's/../\\x&/g')" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

@test "sampled: a corrupt sample table is refused with one line naming the file" {
	sampler_start
	cp "$(seg_of "$SPID")" "$PT_TMP/good"
	prog_stop s
	ptrun used "$PT_TMP/good" --sites
	pt_ok
	[[ $output == *"via sampler.c:"*" in build_a"* ]] || fail "the copy reads: $output"
	off=$(od -An -t u8 -j 216 -N 8 "$PT_TMP/good" | tr -d ' ')

	cp "$PT_TMP/good" "$PT_TMP/count"
	patch "$PT_TMP/count" 228 ffff0000 # nsamples beyond max_samples
	ptrun used "$PT_TMP/count"
	assert_error "corrupt segment .*count: bad sample table: more entries than it holds"

	cp "$PT_TMP/good" "$PT_TMP/place"
	patch "$PT_TMP/place" 216 0800000000000000 # samples_off inside the header
	ptrun used "$PT_TMP/place"
	assert_error "corrupt segment .*place: bad sample table: outside its place"

	cp "$PT_TMP/good" "$PT_TMP/slot"
	patch "$PT_TMP/slot" "$off" ffffff00 # entry 0's slot
	ptrun used "$PT_TMP/slot"
	assert_error "corrupt segment .*slot: bad sample table: an entry names a bad slot or depth"

	cp "$PT_TMP/good" "$PT_TMP/depth"
	patch "$PT_TMP/depth" $((off + 4)) 11000000 # entry 0's depth: 17 frames
	ptrun used "$PT_TMP/depth"
	assert_error "bad sample table: an entry names a bad slot or depth"

	cp "$PT_TMP/good" "$PT_TMP/path"
	patch "$PT_TMP/path" $((off + 32 + 16)) ffffff7f # entry 0's first frame's path
	ptrun used "$PT_TMP/path"
	assert_error "bad sample table: an entry names a bad string"

	# An older writer's header: no table, no samples, the rest as before.
	cp "$PT_TMP/good" "$PT_TMP/old"
	patch "$PT_TMP/old" 216 00000000000000000000000000000000000000000000000000000000000000000000000000000000
	ptrun used "$PT_TMP/old" --sites
	pt_ok
	[[ $output != *"Sampled call paths"* ]] && [[ $output == *" Samp "* ]] || fail "old: $output"
}
