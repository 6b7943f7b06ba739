#!/usr/bin/env bats
# Reading processes while they run: threads that allocate and free while
# the CLI reads them (tests/progs/threads.c), a long single-threaded run of
# examples/tagged, and a fork child with its own segment
# (tests/progs/forker.c).

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# The shape of tests/progs/threads.c: per thread, RING / NKINDS live blocks
# of each kind once "running" is printed, one fewer between a free and the
# allocation that refills its slot.
THR_PER_KIND=8
THR_SIZES='{"ThrA": ("paged", 24), "ThrB": ("paged", 200), "ThrN": ("nonpaged", 64)}'

@test "threads: 25 reads while 4 threads run are consistent; quiescent counts are exact" {
	[ -x "$PROGS/threads" ] || fail "build $PROGS/threads first (make $PROGS/threads)"
	nthreads=4
	prog_start th "$PROGS/threads" "$nthreads"
	prog_expect th 'pid [0-9]+'
	pid=${REPLY#pid }
	[ "$pid" = "${PROG_PID[th]}" ]
	prog_expect th running
	for i in $(seq -w 1 25); do
		ptrun used -v --json "$pid"
		pt_ok
		printf '%s\n' "$output" >"$PT_TMP/read.$i.json"
	done
	prog_send th stop
	for tag in ThrA ThrB ThrN; do
		prog_expect th "total $tag [0-9]+ [0-9]+ [0-9]+"
		echo "$REPLY" >>"$PT_TMP/totals"
	done
	prog_expect th quiescent
	ptrun used -v --json "$pid"
	pt_ok
	printf '%s\n' "$output" >"$PT_TMP/final.json"
	ptrun snap "$pid" -o "$PT_TMP/final.snap"
	pt_ok

	python3 - "$PT_TMP" "$nthreads" "$THR_PER_KIND" "$THR_SIZES" <<'EOF'
import glob, json, sys

tmp, nthreads, per_kind = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
sizes = eval(sys.argv[4])
pools = ("nonpaged", "paged")
# Live blocks of a kind never drop below this once every ring is full.
floor = nthreads * (per_kind - 1)

def check_sums(where, s):
    assert all(isinstance(s[k], int) and s[k] >= 0 for k in s), (where, s)
    assert s["frees"] <= s["allocs"], (where, s)
    assert s["diff"] == s["allocs"] - s["frees"], (where, s)

prev = {}
reads = sorted(glob.glob(tmp + "/read.*.json"))
assert len(reads) == 25, reads
for n, path in enumerate(reads):
    d = json.load(open(path))
    tags = {t["tag"]: t for t in d["tags"]}
    assert sorted(tags) == sorted(sizes), (path, sorted(tags))
    total = {p: {"allocs": 0, "frees": 0, "diff": 0, "used": 0} for p in pools}
    for tag, (pool, size) in sizes.items():
        t = tags[tag]
        for p in pools:
            check_sums((path, tag, p), t[p])
            for k in total[p]:
                total[p][k] += t[p][k]
        other = "paged" if pool == "nonpaged" else "nonpaged"
        assert t[other] == {"allocs": 0, "frees": 0, "diff": 0, "used": 0}, (path, tag, t)
        s = t[pool]
        assert s["diff"] >= floor, ("fewer live blocks than the threads hold", path, tag, s)
        assert s["used"] >= floor * size, ("fewer live bytes than the threads hold", path, tag, s)
        # Cumulative counters never go back.
        if tag in prev:
            assert s["allocs"] >= prev[tag]["allocs"], (path, tag, s, prev[tag])
            assert s["frees"] >= prev[tag]["frees"], (path, tag, s, prev[tag])
        prev[tag] = s
    for p in pools:
        check_sums((path, "total", p), d["total"][p])
        assert d["total"][p] == total[p], (path, p, d["total"][p], total[p])

# After "stop": every block freed, counts as the threads counted them.
d = json.load(open(tmp + "/final.json"))
tags = {t["tag"]: t for t in d["tags"]}
done = {}
for line in open(tmp + "/totals"):
    _, tag, na, nf, nb = line.split()
    done[tag] = (int(na), int(nf), int(nb))
for tag, (pool, size) in sizes.items():
    na, nf, nb = done[tag]
    assert na == nf and nb == na * size, (tag, done[tag])
    assert na >= prev[tag]["allocs"], (tag, na, prev[tag])
    assert tags[tag][pool] == {"allocs": na, "frees": na, "diff": 0, "used": 0}, (tag, tags[tag], na)
# The snapshot's byte counters match the bytes the threads asked for.
nbytes = {}
for line in open(tmp + "/final.snap"):
    f = line.rstrip("\n").split("\t")
    if f[0] == "site":
        a, fr = nbytes.get(f[1], (0, 0))
        nbytes[f[1]] = (a + int(f[5]), fr + int(f[6]))
for tag in sizes:
    assert nbytes[tag] == (done[tag][2], done[tag][2]), (tag, nbytes[tag], done[tag])
EOF

	# Quit: the segment goes with the process.
	prog_send th quit
	prog_stop th
	[ ! -e "$(seg_of "$pid")" ]
}

@test "threads: the text table agrees with the JSON, thread count 1 to 8" {
	for n in 1 8; do
		prog_start "th$n" "$PROGS/threads" "$n"
		prog_expect "th$n" 'pid [0-9]+'
		pid=${REPLY#pid }
		prog_expect "th$n" running
		prog_send "th$n" stop
		prog_read "th$n"
		[[ $REPLY =~ ^total\ ThrA\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]
		a=${BASH_REMATCH[1]}
		prog_read "th$n"
		[[ $REPLY =~ ^total\ ThrB\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]
		b=${BASH_REMATCH[1]}
		prog_read "th$n"
		[[ $REPLY =~ ^total\ ThrN\ ([0-9]+)\ ([0-9]+)\ ([0-9]+)$ ]]
		c=${BASH_REMATCH[1]}
		prog_expect "th$n" quiescent
		ptrun used -v "$pid"
		pt_ok
		assert_row ThrA "0 0 0 0 $a $a 0 0"
		assert_row ThrB "0 0 0 0 $b $b 0 0"
		assert_row ThrN "$c $c 0 0 0 0 0 0"
		assert_row TOTAL "$c $c 0 0 $((a + b)) $((a + b)) 0 0"
		# Each thread filled its ring before "running".
		((a >= n * THR_PER_KIND && b >= n * THR_PER_KIND && c >= n * THR_PER_KIND))
		prog_send "th$n" quit
		prog_stop "th$n"
	done
}

@test "tagged: reads during a long run only grow, and end exact" {
	tagged_start
	tagged_work 1 # the tags exist before the first read
	# The program serves requests until told to stop, so every read below
	# happens while it runs, however fast the machine.  JSON: a fast machine
	# serves millions, beyond the width of the text table's columns.
	prog_send t "until $PT_TMP/stop"
	reads=0 pa=0 pf=0 ka=0 kf=0 ha=0 first=
	while ((reads < 50)) || [ "$ha" = "$first" ]; do
		ptrun used --json "$TPID"
		pt_ok
		# Req allocs, frees; Key allocs, frees; Hdr allocs, frees, diff, used.
		read -r -a c <<<"$(pyjson '" ".join(str(x) for x in (tag("Req ")["paged"]["allocs"], tag("Req ")["paged"]["frees"], tag("Key ")["nonpaged"]["allocs"], tag("Key ")["nonpaged"]["frees"], tag("Hdr ")["paged"]["allocs"], tag("Hdr ")["paged"]["frees"], tag("Hdr ")["paged"]["diff"], tag("Hdr ")["paged"]["used"]))')"
		# Cumulative counts only grow; frees never pass allocations.
		((c[0] >= pa && c[1] >= pf && c[1] <= c[0])) || fail "Req ${c[*]:0:2} after $pa $pf"
		((c[2] >= ka && c[3] >= kf && c[3] <= c[2])) || fail "Key ${c[*]:2:2} after $ka $kf"
		# Hdr is never freed; 56 bytes a block, give or take the one being
		# counted as the read happens.
		((c[4] >= ha && c[5] == 0 && c[6] == c[4])) || fail "Hdr ${c[*]:4} after $ha"
		((c[7] >= 56 * (c[6] - 1) && c[7] <= 56 * (c[6] + 1))) || fail "Hdr ${c[*]:4}"
		# No check of Req against Hdr here: a live read is of one instant
		# per counter slot, not across slots, and the program serves on
		# while the reader goes from one tag's slot to the next.  The two
		# agree exactly at the end, below.
		pa=${c[0]} pf=${c[1]} ka=${c[2]} kf=${c[3]} ha=${c[4]}
		first=${first:-$ha}
		reads=$((reads + 1))
		((reads < 10000)) || fail "the count never moved in $reads reads"
	done
	: >"$PT_TMP/stop"
	prog_expect t 'served [0-9]+'
	n=$((${REPLY#served } + 1))
	prog_expect t ok
	echo "# $reads reads during the run of $n requests" >&3
	ptrun used --json "$TPID"
	pt_ok
	json_eq 'tag("Hdr ")["paged"]' "{'allocs': $n, 'frees': 0, 'diff': $n, 'used': $((56 * n))}"
	json_eq 'tag("Req ")["paged"]' "{'allocs': $n, 'frees': $n, 'diff': 0, 'used': 0}"
	json_eq 'tag("Key ")["nonpaged"]' "{'allocs': $n, 'frees': $n, 'diff': 0, 'used': 0}"
	json_eq 'tag("Conn")["paged"]' "{'allocs': $n, 'frees': $n, 'diff': 0, 'used': 0}"
}

@test "forker: the fork child has its own segment, with the parent's counts copied" {
	[ -x "$PROGS/forker" ] || fail "build $PROGS/forker first (make $PROGS/forker)"
	prog_start f "$PROGS/forker" 100 30
	prog_expect f 'parent [0-9]+'
	parent=${REPLY#parent }
	[ "$parent" = "${PROG_PID[f]}" ]
	prog_expect f 'child [0-9]+'
	child=${REPLY#child }
	PT_PIDS+=("$child")
	[ "$child" != "$parent" ]
	[ -f "$(seg_of "$parent")" ]
	[ -f "$(seg_of "$child")" ]

	# The parent: its own blocks only, never the child's.
	ptrun used --json "$parent"
	pt_ok
	json_eq 'd["pid"], d["command"]' "($parent, 'forker')"
	json_eq '[t["tag"] for t in d["tags"]]' "['Prnt']"
	json_eq 'tag("Prnt")["paged"]' "{'allocs': 100, 'frees': 0, 'diff': 100, 'used': 3200}"
	json_eq 'tag("Prnt")["description"]' "Parent blocks , Binary: forker"

	# The child: its parent's 100 blocks, inherited, and its own 30.
	ptrun used --json "$child"
	pt_ok
	json_eq 'd["pid"], d["command"]' "($child, 'forker')"
	json_eq '[t["tag"] for t in d["tags"]]' "['Chld', 'Prnt']"
	json_eq 'tag("Prnt")["paged"]' "{'allocs': 100, 'frees': 0, 'diff': 100, 'used': 3200}"
	json_eq 'tag("Chld")["paged"]' "{'allocs': 30, 'frees': 0, 'diff': 30, 'used': 1440}"
	json_eq 'tag("Prnt")["description"]' "Parent blocks , Binary: forker"
	json_eq 'd["total"]["paged"]["used"]' 4640

	# Both are live in ls, each with its own tag count.
	ptrun ls
	pt_ok
	[[ $(printf '%s\n' "${lines[@]}" | grep "^ *$parent ") =~ ^\ *$parent\ +live\ +1\ +3\.1\ KiB\ +forker$ ]]
	[[ $(printf '%s\n' "${lines[@]}" | grep "^ *$child ") =~ ^\ *$child\ +live\ +2\ +4\.5\ KiB\ +forker$ ]]

	# The child's snapshot names the child.
	ptrun snap "$child" -o "$PT_TMP/child.snap"
	pt_ok
	grep -qx "pid $child" "$PT_TMP/child.snap"
	grep -qx "start_ticks $(awk '{print $22}' "/proc/$child/stat")" "$PT_TMP/child.snap"

	# quit: the child frees everything and exits, then the parent.
	prog_send f quit
	prog_stop f
	wait_gone "$child"
	[ ! -e "$(seg_of "$parent")" ]
	[ ! -e "$(seg_of "$child")" ]
}
