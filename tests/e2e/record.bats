#!/usr/bin/env bats
# `pooltag record`, `pooltag trend` and `pooltag plot` on tests/progs/grower:
# a recording survives the recorder being killed and a cut last sample;
# trend flags the tag that leaks and nothing else; plot draws the series.

load helpers

setup() {
	pt_setup
	GROWER="$PROGS/grower"
}

teardown() {
	pt_teardown
}

# grower_start MODE: starts grower leak|noleak as "g" and sets GPID.
grower_start() {
	prog_start g "$GROWER" "$1"
	prog_expect g 'pid [0-9]+'
	GPID=${REPLY#pid }
	prog_expect g running
}

# samples FILE: the number of sample lines in a recording.
samples() {
	grep -c '^sample	' "$1" || true
}

# recorder_start ARGS...: `pooltag record ARGS` in the background, its
# output in $PT_TMP/rec.out and rec.err; sets RPID.
recorder_start() {
	spawn /dev/null "$PT_TMP/rec.out" "$PT_TMP/rec.err" "$PT" record "$@"
	RPID=$SPAWNED
	PT_PIDS+=("$RPID")
}

# wait_samples FILE N: polls until FILE holds at least N samples.
wait_samples() {
	local i
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ -f "$1" ] && [ "$(samples "$1")" -ge "$2" ] && return 0
		sleep 0.05
	done
	fail "$1 has $(samples "$1") samples after ${PT_TIMEOUT}s, expected $2; $(cat "$PT_TMP/rec.err")"
}

# wait_status PID: waits for a child of this shell; its exit status in $RC.
wait_status() {
	wait_gone "$1" || return 1
	RC=0
	wait "$1" || RC=$?
}

# record_grower MODE FILE: grower MODE recorded every 0.1 s until FILE holds
# 12 samples, then interrupted (how many samples a span of time gets
# depends on the machine's load; the count of samples is a state).  Sets
# NSAMPLES to the number recorded.
record_grower() {
	grower_start "$1"
	recorder_start "$GPID" -o "$2" --interval 0.1
	wait_samples "$2" 12
	kill -INT "$RPID"
	wait_status "$RPID"
	[ "$RC" -eq 0 ] || fail "status $RC: $(cat "$PT_TMP/rec.err")"
	[ ! -s "$PT_TMP/rec.err" ] || fail "stderr: $(cat "$PT_TMP/rec.err")"
	mapfile -t out <"$PT_TMP/rec.out"
	[ "${out[0]}" = "recording pid $GPID (grower) to $2 every 0.1 s" ] || fail "first line: ${out[0]}"
	[[ ${out[1]} =~ ^recorded\ ([0-9]+)\ samples\ of\ pid\ $GPID:\ interrupted$ ]] ||
		fail "last line: ${out[1]}"
	NSAMPLES=${BASH_REMATCH[1]}
	[ "$(samples "$2")" -eq "$NSAMPLES" ]
	((NSAMPLES >= 12))
}

# fit_rate FILE TAG POOL: the least-squares slope, per second, of TAG's
# outstanding blocks in POOL over the samples of recording FILE, replayed
# from the file itself (docs/recording-format.md).
fit_rate() {
	python3 - "$@" <<'EOF2'
import sys
f, tag, pool = sys.argv[1], sys.argv[2], sys.argv[3]
sites, pts, t = [], [], None
def point():
    if t is not None:
        pts.append((t, sum(s[2] - s[3] for s in sites if s[0] == tag and s[1] == pool)))
for l in open(f).read().split("\n"):
    w = l.split("\t")
    if w[0] == "sample":
        point()
        t = int(w[1])
    elif w[0] == "site":
        sites.append([w[1], w[2], int(w[3]), int(w[4])])
    elif w[0] == "count":
        sites[int(w[1])][2:4] = [int(w[2]), int(w[3])]
point()
x0 = pts[0][0]
xs = [(x - x0) / 1e9 for x, _ in pts]
ys = [y for _, y in pts]
mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
print(sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs))
EOF2
}

@test "record: --duration stops it, with at most one sample per due time" {
	grower_start leak
	ptrun record "$GPID" -o "$PT_TMP/d.rec" --interval 0.1 --duration 0.5
	pt_ok
	[ "${lines[0]}" = "recording pid $GPID (grower) to $PT_TMP/d.rec every 0.1 s for 0.5 s" ]
	[[ ${lines[1]} =~ ^recorded\ ([0-9]+)\ samples\ of\ pid\ $GPID$ ]] || fail "last line: ${lines[1]}"
	n=${BASH_REMATCH[1]}
	[ "$(samples "$PT_TMP/d.rec")" -eq "$n" ]
	# Due at 0, 0.1, ..., 0.5: a loaded machine may get fewer, never more.
	((n >= 1 && n <= 6)) || fail "$n samples"
}

# leak_lines: the tags trend lists as leaks ("TAG POOL"), one per line.
leak_lines() {
	local l
	for l in "${lines[@]}"; do
		[[ $l =~ ^\ ([^\ ]{4})\ ([A-Za-z]+):\ [+-] ]] && echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
	done
	return 0
}

# other_shape TAG: the shape column of TAG in trend --all's other table.
other_shape() {
	local l
	for l in "${lines[@]}"; do
		[[ $l =~ ^\ $1\ +[A-Za-z]+\ +([a-z]+( off)?)\ +[+-] ]] && echo "${BASH_REMATCH[1]}" && return 0
	done
	fail "no row for $1 in: $output"
}

# not_steady TAG: trend --all lists TAG among the others, with a shape that
# is not a leak's (other_shape fails when there is no row: a command
# substitution alone would hide that).
not_steady() {
	local sh
	sh=$(other_shape "$1") || return 1
	[[ $sh =~ ^(short|flat|returns|falling|irregular|levels\ off)$ ]] || fail "$1: shape '$sh'"
}

@test "record: a header naming the process, then one complete sample per interval" {
	record_grower leak "$PT_TMP/g.rec"
	mapfile -t rec <"$PT_TMP/g.rec"
	[ "${rec[0]}" = "pooltag-recording 1" ]
	[ "${rec[1]}" = "pid $GPID" ]
	[ "${rec[2]}" = "uid $(id -u)" ]
	[ "${rec[3]}" = "command grower" ]
	[[ ${rec[4]} =~ ^created\ [0-9]+$ ]]
	[ "${rec[5]}" = "start_ticks $(awk '{print $22}' "/proc/$GPID/stat")" ]
	[ "${rec[6]}" = "interval_us 100000" ]
	[[ ${rec[7]} =~ ^sample$'\t'[0-9]+$'\t'[0-9]+$ ]]
	# Sites are defined once; later samples carry only counters that moved.
	[ "$(grep -c $'^site\tLeak\tpaged\t' "$PT_TMP/g.rec")" -eq 1 ]
	[ "$(grep -c $'^desc\tLeak\tgrower\tBlocks nobody frees$' "$PT_TMP/g.rec")" -eq 1 ]
	[ "$(grep -c $'^count\t' "$PT_TMP/g.rec")" -ge 1 ]
	[ "$(stat -c '%a' "$PT_TMP/g.rec")" = 600 ]
	# Times never go backwards, and each sample's line count is right.
	python3 - "$PT_TMP/g.rec" <<'EOF'
import sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == ""
i, last = 7, 0
while i < len(lines) - 1:
    kind, taken, n = lines[i].split("\t")
    assert kind == "sample" and int(taken) >= last, lines[i]
    last = int(taken)
    body = lines[i + 1:i + 1 + int(n)]
    assert all(l.split("\t")[0] in ("site", "count", "desc") for l in body), body
    i += 1 + int(n)
EOF
}

@test "trend: the steadily leaking tag is flagged with its rate, the rise-and-fall one is not" {
	record_grower leak "$PT_TMP/g.rec"
	ptrun trend "$PT_TMP/g.rec"
	pt_ok
	[[ ${lines[0]} =~ ^\ pid\ $GPID\ \(grower\):\ $NSAMPLES\ samples\ over\ [0-9.]+\ s,\ one\ every\ 0.10\ s$ ]] ||
		fail "first line: ${lines[0]}"
	[ "$(leak_lines)" = "Leak Paged" ] || fail "leaks: $(leak_lines)"$'\n'"$output"
	re='^ Leak Paged: \+([0-9.]+) objects/s \(\+([0-9.]+) KiB/s\) over [0-9.]+ s, never freed$'
	l=$(printf '%s\n' "${lines[@]}" | grep '^ Leak Paged:')
	[[ $l =~ $re ]] || fail "leak line: $l"
	rate=${BASH_REMATCH[1]} kib=${BASH_REMATCH[2]}
	# The rate is the fit of the recorded counts (whatever the machine's
	# load made them); every block is 100 bytes.
	fit=$(fit_rate "$PT_TMP/g.rec" Leak paged)
	# The fit here and trendcmd.c's may differ in their last bits, so a
	# value on a rounding boundary may print either way: each printed
	# figure must be the fit rounded to its printed digits, within half a
	# unit of the last one.
	python3 -c "
def fmt(v):  # cli/cmd/trendcmd.c's fmt_rate
    a = abs(v)
    return ('%+.0f' if a >= 100 or v == 0 else '%+.1f' if a >= 1 else '%+.3g') % v
def digits(s):
    return len(s.split('.')[1]) if '.' in s else 0
def near(printed, v):  # rounded as fmt_rate rounds, to within the last bits
    return (digits(printed) in (digits(fmt(v)), digits(fmt(float(printed)))) and
            abs(float(printed) - v) <= 0.5 * 10 ** -digits(printed) * (1 + 1e-6))
fit = $fit
assert fit > 0, fit
assert near('$rate', fit), (fit, '$rate')
assert near('$kib', fit * 100 / 1024), (fit * 100 / 1024, '$kib')"
	printf '%s\n' "${lines[@]}" | grep -q '^   Blocks nobody frees , Binary: grower$'
	printf '%s\n' "${lines[@]}" | grep -q "^ 2 other tags not leaking ('pooltag trend --all' lists them)$"
	ptrun trend --all "$PT_TMP/g.rec"
	pt_ok
	[ "$(leak_lines)" = "Leak Paged" ]
	not_steady Wave
	not_steady Chrn
	# The same for scripts.
	ptrun trend --json "$PT_TMP/g.rec"
	pt_ok
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["format"] == "pooltag-trend" and d["version"] == 1, d
assert d["pid"] == int(sys.argv[2]) and d["command"] == "grower", d
assert d["samples"] == int(sys.argv[3]) and d["interval"] == 0.1, d
leaks = [(s["tag"], s["pool"]) for s in d["series"] if s["leak"]]
assert leaks == [("Leak", "Paged")], leaks
s = d["series"][0]
fit = float(sys.argv[4])
assert s["shape"] == "steady" and s["frees"] == 0, s
# The JSON gives 6 significant digits: half a unit of the last is 5e-6.
assert abs(s["count_per_s"] - fit) <= 1e-5 * fit, (s, fit)
assert abs(s["bytes_per_s"] - 100 * s["count_per_s"]) <= 1e-5 * s["bytes_per_s"], s
assert s["description"] == "Blocks nobody frees , Binary: grower", s
assert sorted(x["tag"] for x in d["series"]) == ["Chrn", "Leak", "Wave"], d' "$output" "$GPID" "$NSAMPLES" "$fit"
	# Per call site: the same verdict, naming the line.
	ptrun trend --sites "$PT_TMP/g.rec"
	pt_ok
	[ "$(leak_lines)" = "Leak Paged" ]
	line=$(src_line tests/progs/grower.c 'pt_alloc(PT_PAGED, 100, "Leak")')
	printf '%s\n' "${lines[@]}" | grep -q "^   at tests/progs/grower.c:$line in step$"
	ptrun trend --sites --json "$PT_TMP/g.rec"
	pt_ok
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
s = [x for x in d["series"] if x["leak"]]
assert len(s) == 1, d
s = s[0]
# The site as used --json names it; its function by the former name too.
assert (s["file"], s["line"], s["function"], s["module"]) == \
    ("tests/progs/grower.c", int(sys.argv[2]), "step", "grower"), s
assert s["func"] == s["function"], s' "$output" "$line"
}

@test "trend: a program that does not leak has no leak" {
	record_grower noleak "$PT_TMP/n.rec"
	ptrun trend "$PT_TMP/n.rec"
	pt_ok
	[ "${lines[1]}" = " No leak: no tag grew steadily." ]
	[ -z "$(leak_lines)" ]
	ptrun trend --all "$PT_TMP/n.rec"
	pt_ok
	not_steady Wave
	not_steady Chrn
}

@test "trend on the seed's host: Proc leaks with the driver at work, every driver tag does not" {
	seed="$PT_BUILD/examples/seed"
	# A stress far longer than the recording: the driver leaks all along.
	prog_start h "$seed/host" "$seed/libsey.so" 1000000
	HPID=${PROG_PID[h]}
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ -e "$(seg_of "$HPID")" ] && break
		sleep 0.05
	done
	# Recorded until 12 samples are in (a state, not a span of time).
	recorder_start "$HPID" -o "$PT_TMP/seed.rec" --interval 0.1
	wait_samples "$PT_TMP/seed.rec" 12
	kill -INT "$RPID"
	wait_status "$RPID"
	[ "$RC" -eq 0 ] || fail "status $RC: $(cat "$PT_TMP/rec.err")"
	kill -9 "$HPID"
	ptrun trend "$PT_TMP/seed.rec"
	pt_ok
	leaks=$(leak_lines)
	# The process objects leak fastest in bytes; so do what each holds
	# (token, image name) and the references and handles the driver took.
	[ "$(head -n 1 <<<"$leaks")" = "Proc NonPaged" ] || fail "leaks: $leaks"$'\n'"$output"
	grep -qx 'Proc Handles' <<<"$leaks"
	grep -qx 'Proc Refs' <<<"$leaks"
	! grep -q '^SEY' <<<"$leaks" || fail "a driver tag flagged: $leaks"
	printf '%s\n' "${lines[@]}" | grep -q '^   Process objects , Binary: host!ps$'
}

@test "record: kill -9 leaves a readable file" {
	grower_start leak
	recorder_start "$GPID" -o "$PT_TMP/k.rec" --interval 0.05
	wait_samples "$PT_TMP/k.rec" 8
	kill -9 "$RPID"
	wait_status "$RPID"
	[ "$RC" -eq 137 ]
	n=$(samples "$PT_TMP/k.rec")
	ptrun trend "$PT_TMP/k.rec"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	# Killed between samples the file is whole; killed inside a write, its
	# last sample is dropped with a note.
	if [ -n "$stderr" ]; then
		[[ $stderr =~ ^pooltag:\ note:\ $PT_TMP/k.rec:[0-9]+:\ last\ sample\ incomplete,\ ignored\ \(([0-9]+)\ complete\)$ ]] ||
			fail "stderr: $stderr"
		n=${BASH_REMATCH[1]}
	fi
	[[ ${lines[0]} == " pid $GPID (grower): $n samples over "* ]] || fail "${lines[0]}"
	[ "$(leak_lines)" = "Leak Paged" ]
}

@test "trend: a last sample cut short is ignored with a note" {
	record_grower leak "$PT_TMP/g.rec"
	size=$(stat -c %s "$PT_TMP/g.rec")
	last=$(grep -n $'^sample\t' "$PT_TMP/g.rec" | tail -n 1 | cut -d: -f1)
	for cut in 1 5 20; do
		head -c $((size - cut)) "$PT_TMP/g.rec" >"$PT_TMP/cut.rec"
		ptrun trend "$PT_TMP/cut.rec"
		[ "$status" -eq 0 ] || fail "status $status: $stderr"
		[ "$stderr" = "pooltag: note: $PT_TMP/cut.rec:$last: last sample incomplete, ignored ($((NSAMPLES - 1)) complete)" ] ||
			fail "stderr: $stderr"
		[[ ${lines[0]} == " pid $GPID (grower): $((NSAMPLES - 1)) samples over "* ]] || fail "${lines[0]}"
		[ "$(leak_lines)" = "Leak Paged" ]
	done
	# Cut at a sample boundary, the file is simply shorter: no note.
	head -n $((last - 1)) "$PT_TMP/g.rec" >"$PT_TMP/cut.rec"
	ptrun trend "$PT_TMP/cut.rec"
	pt_ok
	[[ ${lines[0]} == " pid $GPID (grower): $((NSAMPLES - 1)) samples over "* ]]
	# plot reads it the same way.
	head -c $((size - 1)) "$PT_TMP/g.rec" >"$PT_TMP/cut.rec"
	ptrun plot "$PT_TMP/cut.rec" -o "$PT_TMP/cut.svg"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	[ "$stderr" = "pooltag: note: $PT_TMP/cut.rec:$last: last sample incomplete, ignored ($((NSAMPLES - 1)) complete)" ] ||
		fail "stderr: $stderr"
	# The chart spans the complete samples only: one point each.
	span=$(python3 -c "print('%.1f' % (($(grep $'^sample\t' "$PT_TMP/g.rec" | sed -n "$((NSAMPLES - 1))p" | cut -f2) - $(grep -m 1 $'^sample\t' "$PT_TMP/g.rec" | cut -f2)) / 1e9))")
	[ "$output" = "$PT_TMP/cut.svg: 2 series over $span s" ] || fail "output: $output"
	python3 - "$PT_TMP/cut.svg" "$((NSAMPLES - 1))" <<'EOF2'
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
g = [g for g in root.iter(ns + "g") if g.get("id") == "objects"][0]
series = {p.get("data-series"): p.get("points") for p in g.iter(ns + "polyline")}
assert len(series["Leak Paged"].split()) == int(sys.argv[2]), series
EOF2
}

@test "record: SIGTERM and SIGINT finish the current sample and stop" {
	grower_start leak
	for sig in TERM INT; do
		# A file of its own: the samples counted must be this recorder's.
		recorder_start "$GPID" -o "$PT_TMP/$sig.rec" --interval 0.05
		wait_samples "$PT_TMP/$sig.rec" 3
		kill -s "$sig" "$RPID"
		wait_status "$RPID"
		[ "$RC" -eq 0 ] || fail "SIG$sig: status $RC: $(cat "$PT_TMP/rec.err")"
		[ ! -s "$PT_TMP/rec.err" ]
		n=$(samples "$PT_TMP/$sig.rec")
		[ "$(tail -n 1 "$PT_TMP/rec.out")" = "recorded $n samples of pid $GPID: interrupted" ]
		ptrun trend "$PT_TMP/$sig.rec"
		pt_ok
	done
}

@test "record: stops when the target exits, keeping what it recorded" {
	grower_start leak
	recorder_start "$GPID" -o "$PT_TMP/e.rec" --interval 0.05
	wait_samples "$PT_TMP/e.rec" 4
	prog_stop g
	wait_status "$RPID"
	[ "$RC" -eq 0 ] || fail "status $RC: $(cat "$PT_TMP/rec.err")"
	[ ! -s "$PT_TMP/rec.err" ]
	n=$(samples "$PT_TMP/e.rec")
	[ "$(tail -n 1 "$PT_TMP/rec.out")" = "recorded $n samples of pid $GPID: the process exited" ]
	ptrun trend "$PT_TMP/e.rec"
	pt_ok
}

@test "plot: an SVG with both panels, axis titles, a line per series and a legend" {
	record_grower leak "$PT_TMP/g.rec"
	ptrun plot "$PT_TMP/g.rec" -o "$PT_TMP/g.svg"
	pt_ok
	[ "$output" = "$PT_TMP/g.svg: 2 series over $(python3 -c "print('%.1f' % (($(grep $'^sample\t' "$PT_TMP/g.rec" | tail -n 1 | cut -f2) - $(grep -m 1 $'^sample\t' "$PT_TMP/g.rec" | cut -f2)) / 1e9))") s" ]
	python3 - "$PT_TMP/g.svg" <<'EOF'
import sys, xml.etree.ElementTree as ET
ns = "{http://www.w3.org/2000/svg}"
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == ns + "svg", root.tag
panels = {g.get("id"): g for g in root.iter(ns + "g")}
assert set(panels) == {"bytes", "objects", "legend"}, panels
for pid, unit in (("bytes", "Outstanding KiB"), ("objects", "Outstanding objects")):
    g = panels[pid]
    axes = [t.text for t in g.iter(ns + "text") if t.get("class") == "axis"]
    assert axes == ["Time (s)", unit], axes
    series = {p.get("data-series"): p.get("points") for p in g.iter(ns + "polyline")}
    # Chrn never has anything outstanding: it is not drawn.
    assert set(series) == {"Leak Paged", "Wave Paged"}, series
    pts = [tuple(map(float, p.split(","))) for p in series["Leak Paged"].split()]
    assert len(pts) >= 5
    # SVG's y grows downwards: the leak's line climbs.
    assert pts[-1][1] < pts[0][1] and pts[-1][0] > pts[0][0], pts
legend = [t.text for t in panels["legend"].iter(ns + "text")]
assert legend[0].startswith("Leak Paged: leak: +") and "objects/s" in legend[0], legend
assert legend[1] in ("Wave Paged: returns", "Wave Paged: irregular", "Wave Paged: falling"), legend
EOF
}

@test "plot: a self-contained HTML page with the chart and a table of the series" {
	record_grower leak "$PT_TMP/g.rec"
	ptrun plot "$PT_TMP/g.rec" -o "$PT_TMP/g.html" -t 1
	pt_ok
	python3 - "$PT_TMP/g.html" <<'EOF'
import sys, re
from html.parser import HTMLParser
text = open(sys.argv[1]).read()
assert text.startswith("<!DOCTYPE html>"), text[:40]
# Nothing fetched from anywhere: no scripts, links, images or URLs but the SVG namespace.
assert not re.search(r"<script|<link|<img|src=|href=|url\(", text), "external asset"
assert re.findall(r"https?://[^\"]*", text) == ["http://www.w3.org/2000/svg"]
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.cells = []; self.td = False; self.polylines = []
    def handle_starttag(self, tag, a):
        if tag == "td": self.td = True; self.cells.append("")
        if tag == "polyline": self.polylines.append(dict(a)["data-series"])
    def handle_endtag(self, tag):
        if tag == "td": self.td = False
    def handle_data(self, d):
        if self.td: self.cells[-1] += d
p = P(); p.feed(text)
assert p.polylines == ["Leak Paged", "Leak Paged"], p.polylines
assert p.cells[0].strip() == "Leak Paged" and p.cells[1].startswith("leak: +"), p.cells
EOF
}

@test "record, trend, plot: bad arguments and bad files" {
	grower_start noleak
	ptrun record "$GPID"
	assert_usage_error '^pooltag: record: -o FILE is required'
	for bad in 0 -1 abc 0.0001 1e9 nan; do
		ptrun record "$GPID" -o "$PT_TMP/x.rec" --interval "$bad"
		assert_usage_error "^pooltag: record: --interval wants seconds from 0.001 to 86400, not '$bad'"
	done
	ptrun record "$GPID" -o "$PT_TMP/x.rec" --duration -2
	assert_usage_error "^pooltag: record: --duration wants seconds"
	ptrun record ./file -o "$PT_TMP/x.rec"
	assert_usage_error "^pooltag: record: './file' is not a PID"
	ptrun record 999999999 -o "$PT_TMP/x.rec"
	assert_error '^pooltag: no such process: 999999999$'
	[ ! -e "$PT_TMP/x.rec" ]
	ptrun record "$GPID" -o "$PT_TMP/no/such/dir.rec"
	assert_error "^pooltag: cannot write recording $PT_TMP/no/such/dir.rec: No such file or directory$"

	ptrun trend "$PT_TMP/missing.rec"
	assert_error "^pooltag: cannot read recording $PT_TMP/missing.rec: No such file or directory$"
	printf 'hello\n' >"$PT_TMP/bad.rec"
	ptrun trend "$PT_TMP/bad.rec"
	assert_error "^pooltag: $PT_TMP/bad.rec:1: not a pooltag recording$"
	printf 'pooltag-recording 1\npid 5\nuid 0\ncommand x\nsample\t10\t1\ncount\t0\t1\t0\t0\t0\nsample\t20\t0\n' >"$PT_TMP/bad.rec"
	ptrun trend "$PT_TMP/bad.rec"
	assert_error "^pooltag: $PT_TMP/bad.rec:6: count line before any site line$"
	printf 'pooltag-recording 1\npid 5\nuid 0\ncommand x\n' >"$PT_TMP/empty.rec"
	ptrun trend "$PT_TMP/empty.rec"
	assert_error "^pooltag: $PT_TMP/empty.rec: no complete sample$"
	ptrun trend
	assert_usage_error '^pooltag: trend: wants one argument'
	ptrun plot "$PT_TMP/empty.rec" -o "$PT_TMP/x.png"
	assert_usage_error "^pooltag: plot: -o wants a file ending in .svg or .html"
	ptrun plot "$PT_TMP/empty.rec" -o "$PT_TMP/x.svg" -t 13
	assert_usage_error "^pooltag: plot: -t wants 1 to 12 series"
	ptrun plot "$PT_TMP/empty.rec" -o "$PT_TMP/x.svg"
	assert_error "^pooltag: $PT_TMP/empty.rec: no complete sample$"
	[ ! -e "$PT_TMP/x.svg" ]
}
