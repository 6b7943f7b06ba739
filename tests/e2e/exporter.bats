#!/usr/bin/env bats
# `pooltag exporter`: the counters of every process, in the Prometheus text
# format, once on standard output and served over HTTP; bad requests and
# clients; processes that come and go while scrapes run; and a real
# Prometheus server scraping it and answering queries about a leak.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# exporter_start [ARGS...]: starts the exporter on a free loopback port
# (unless ARGS say otherwise) and waits for the line saying where it
# serves; sets EXP_URL (http://127.0.0.1:PORT/metrics) and EXP_ADDR
# (127.0.0.1:PORT).
exporter_start() {
	prog_start exp "$PT" exporter --listen 127.0.0.1:0 "$@"
	PT_PIDS+=("${PROG_PID[exp]}")
	prog_expect exp 'pooltag exporter: serving http://127\.0\.0\.1:[0-9]+/metrics'
	EXP_URL=${REPLY#pooltag exporter: serving }
	EXP_ADDR=${EXP_URL#http://}
	EXP_ADDR=${EXP_ADDR%/metrics}
}

# exporter_stop: SIGTERM; it must exit with status 0.  exporter_start may
# follow.
exporter_stop() {
	kill -TERM "${PROG_PID[exp]}"
	prog_stop exp || return 1
	rm -f "$PT_TMP/exp.in" "$PT_TMP/exp.out"
}

# http METHOD PATH [RAW]: one request to the exporter with python3's
# http.client (RAW: send these bytes as they are instead, and read what
# comes back until the server closes).  Sets HTTP_STATUS, and writes the
# headers to $PT_TMP/headers and the body to $PT_TMP/body.
http() {
	python3 - "$EXP_ADDR" "$PT_TMP" "$@" <<'EOF' >"$PT_TMP/status" || return 1
import http.client, os, socket, sys
addr, tmp, method, path = sys.argv[1:5]
host, port = addr.rsplit(":", 1)
if len(sys.argv) > 5:
    s = socket.create_connection((host, int(port)), timeout=60)
    s.sendall(os.fsencode(sys.argv[5]))  # the bytes as given
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ")[1]
    headers = lines[1:]
else:
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    c.request(method, path)
    r = c.getresponse()
    body = r.read()
    status = r.status
    headers = ["%s: %s" % kv for kv in r.getheaders()]
open(tmp + "/headers", "w").write("\n".join(headers) + "\n")
open(tmp + "/body", "wb").write(body)
print(status)
EOF
	HTTP_STATUS=$(cat "$PT_TMP/status")
}

# scrape: GET /metrics, which must succeed and pass promtool's checks; the
# text is in $output and $PT_TMP/body.
scrape() {
	http GET /metrics || return 1
	[ "$HTTP_STATUS" = 200 ] || fail "GET /metrics: status $HTTP_STATUS"
	grep -qx 'Content-Type: text/plain; version=0.0.4; charset=utf-8' "$PT_TMP/headers" ||
		fail "content type: $(cat "$PT_TMP/headers")"
	promtool check metrics <"$PT_TMP/body" || fail "promtool rejects the exposition"
	output=$(cat "$PT_TMP/body")
}

# value SERIES: the value of the sample that is exactly SERIES in $output.
value() {
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

# assert_value SERIES VALUE
assert_value() {
	local got
	got=$(value "$1") || return 1
	[ "$got" = "$2" ] || fail "$1 is $got, expected $2"
}

@test "exporter --once: a process's tags, pools and sites, checked by promtool" {
	tagged_start
	tagged_work 10
	tagged_lines
	ptrun exporter --once --sites
	pt_ok
	promtool check metrics <<<"$output"
	l="pid=\"$TPID\",comm=\"tagged\""
	assert_value "pooltag_outstanding_allocations{$l,tag=\"Hdr \",pool=\"paged\"}" 10
	assert_value "pooltag_outstanding_bytes{$l,tag=\"Hdr \",pool=\"paged\"}" 560
	assert_value "pooltag_allocations_total{$l,tag=\"Req \",pool=\"paged\"}" 10
	assert_value "pooltag_frees_total{$l,tag=\"Req \",pool=\"paged\"}" 10
	assert_value "pooltag_allocated_bytes_total{$l,tag=\"Req \",pool=\"paged\"}" "$(req_bytes 10)"
	assert_value "pooltag_outstanding_allocations{$l,tag=\"Key \",pool=\"nonpaged\"}" 0
	assert_value "pooltag_freed_bytes_total{$l,tag=\"Key \",pool=\"nonpaged\"}" 320
	assert_value "pooltag_misuse_reports_total{$l}" 0
	assert_value "pooltag_site_outstanding_allocations{$l,tag=\"Hdr \",pool=\"paged\",module=\"tagged\",file=\"examples/tagged.c\",line=\"$HDR_LINE\",function=\"serve\"}" 10
	assert_value "pooltag_site_frees_total{$l,tag=\"Conn\",pool=\"paged\",module=\"tagged\",file=\"examples/tagged.c\",line=\"$CONN_LINE\",function=\"serve\"}" 10
	assert_value pooltag_scrape_processes 1
	assert_value pooltag_scrape_errors_total 0
	# HELP and TYPE once per family, with the Prometheus types.
	[ "$(grep -c '^# TYPE pooltag_outstanding_allocations gauge$' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^# HELP pooltag_outstanding_allocations ' <<<"$output")" -eq 1 ]
	[ "$(grep -c '^# TYPE pooltag_allocations_total counter$' <<<"$output")" -eq 1 ]
	# Without --sites, no site series.
	ptrun exporter --once
	pt_ok
	[[ $output != *pooltag_site_* ]]
	assert_value "pooltag_outstanding_allocations{$l,tag=\"Hdr \",pool=\"paged\"}" 10
}

@test "exporter --once: references and handles by module, from the seed's host" {
	local leaked= hpid=
	prog_start h "$PT_BUILD/examples/seed/host" "$PT_BUILD/examples/seed/libsey.so" 300
	while prog_read h; do
		if [[ $REPLY =~ ([0-9]+)\ process\ objects\ not\ deleted ]]; then
			leaked=${BASH_REMATCH[1]}
		elif [[ $REPLY =~ ^host:\ driver\ unloaded\;\ pid\ ([0-9]+)\ waiting ]]; then
			hpid=${BASH_REMATCH[1]}
			break
		fi
	done
	[ -n "$hpid" ] && [ "$leaked" -gt 0 ]
	ptrun exporter --once
	pt_ok
	promtool check metrics <<<"$output"
	l="pid=\"$hpid\",comm=\"host\""
	assert_value "pooltag_references_held{$l,tag=\"Proc\",module=\"libsey.so\"}" "$leaked"
	assert_value "pooltag_handles_held{$l,tag=\"Proc\",module=\"libsey.so\"}" "$leaked"
	assert_value "pooltag_handles_opened_total{$l,tag=\"Proc\",module=\"libsey.so\"}" 300
	assert_value "pooltag_handles_closed_total{$l,tag=\"Proc\",module=\"libsey.so\"}" $((300 - leaked))
	assert_value "pooltag_references_acquired_total{$l,tag=\"Proc\",module=\"libsey.so\"}" 300
	assert_value "pooltag_outstanding_allocations{$l,tag=\"Proc\",pool=\"nonpaged\"}" "$leaked"
}

@test "exporter: GET and HEAD /metrics, the index page, 404, 405, then SIGTERM" {
	tagged_start
	tagged_work 3
	exporter_start
	scrape
	assert_value "pooltag_outstanding_allocations{pid=\"$TPID\",comm=\"tagged\",tag=\"Hdr \",pool=\"paged\"}" 3
	grep -qx 'Connection: close' "$PT_TMP/headers"
	len=$(sed -n 's/^Content-Length: //p' "$PT_TMP/headers")
	[ "$len" -eq "$(stat -c %s "$PT_TMP/body")" ]
	tagged_work 2
	scrape
	assert_value "pooltag_outstanding_allocations{pid=\"$TPID\",comm=\"tagged\",tag=\"Hdr \",pool=\"paged\"}" 5

	http HEAD /metrics
	[ "$HTTP_STATUS" = 200 ]
	[ ! -s "$PT_TMP/body" ]
	http GET /
	[ "$HTTP_STATUS" = 200 ]
	grep -q '<a href="/metrics">' "$PT_TMP/body"
	http GET '/metrics?debug=1'
	[ "$HTTP_STATUS" = 200 ]
	http GET /metrics/x
	[ "$HTTP_STATUS" = 404 ]
	http GET /favicon.ico
	[ "$HTTP_STATUS" = 404 ]
	http POST /metrics
	[ "$HTTP_STATUS" = 405 ]
	grep -qx 'Allow: GET, HEAD' "$PT_TMP/headers"
	http PUT /
	[ "$HTTP_STATUS" = 405 ]
	exporter_stop
	[ ! -s "$PT_TMP/exp.err" ]
}

@test "exporter: malformed and oversized requests are answered at once" {
	exporter_start
	http RAW / $'GARBAGE\r\n\r\n'
	[ "$HTTP_STATUS" = 400 ]
	http RAW / $'GET /metrics HTTP/3.0\r\n\r\n'
	[ "$HTTP_STATUS" = 505 ]
	http RAW / $'GET /metrics HTTP/1.1\r\nbad header\r\n\r\n'
	[ "$HTTP_STATUS" = 400 ]
	# Garbage is answered when it shows, without waiting for an empty
	# line that never comes (the client keeps its side open and reads
	# until the server closes: no answer would fail here).
	http RAW / $'\x16\x03\x01\x02\xff\xfe binary'
	[ "$HTTP_STATUS" = 400 ]
	http RAW / $'\r\n\r\n'
	[ "$HTTP_STATUS" = 400 ]
	http RAW / $'GET /metrics HTTP/1.1\r\nHost: x\r\n folded'
	[ "$HTTP_STATUS" = 400 ]
	# A body after a request that has none is not read as a new request.
	http RAW / $'POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello'
	[ "$HTTP_STATUS" = 405 ]
	# A head longer than 8 KiB.
	big=$(printf 'X-Pad: %08190d\r\n' 0)
	http RAW / $'GET /metrics HTTP/1.1\r\n'"$big"$'\r\n\r\n'
	[ "$HTTP_STATUS" = 431 ]
	scrape
	exporter_stop
	[ ! -s "$PT_TMP/exp.err" ]
}

# idle_hold N: holds N connections to the exporter that say nothing, in the
# background (pid in IDLE_PID), and waits until all are connected; the
# holder then writes "closed I" to $IDLE_OUT for each connection I the
# server closes, and exits once one is closed (or after 120 s, so that it
# never hangs).
idle_hold() {
	IDLE_OUT=$PT_TMP/idle$((++IDLE_N))
	python3 - "$EXP_ADDR" "$1" >"$IDLE_OUT" <<'EOF' &
import select, socket, sys
host, port = sys.argv[1].rsplit(":", 1)
socks = [socket.create_connection((host, int(port)), timeout=120)
         for _ in range(int(sys.argv[2]))]
print("connected", flush=True)
ready, _, _ = select.select(socks, [], [], 120)
for s in ready:
    print("closed %d" % socks.index(s) if s.recv(1) == b"" else "data", flush=True)
EOF
	IDLE_PID=$!
	PT_PIDS+=("$IDLE_PID")
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ -s "$IDLE_OUT" ] && break
		sleep 0.05
	done
	[ "$(head -1 "$IDLE_OUT")" = connected ] || fail "idle connections: $(cat "$IDLE_OUT")"
}

@test "exporter: idle clients never block a scrape: the oldest makes room" {
	# Two connections fill the exporter; the scrape's takes the place
	# of the oldest, which the server closes at once, not at a timeout.
	exporter_start --max-connections 2
	idle_hold 2
	scrape
	wait "$IDLE_PID"
	[ "$(sed -n '2,$p' "$IDLE_OUT")" = "closed 0" ]
	# The default cap is far above what is held.  (Whether the read
	# deadline has closed some by now depends on the machine's speed.)
	exporter_stop
	exporter_start
	idle_hold 40
	scrape
	scrape
	kill "$IDLE_PID" 2>/dev/null || true
	exporter_stop
	[ ! -s "$PT_TMP/exp.err" ]
}

@test "exporter: bad options, and a port in use" {
	ptrun exporter --listen nonsense
	assert_usage_error "exporter: --listen: bad address 'nonsense': want HOST:PORT, \[IPV6\]:PORT or :PORT"
	ptrun exporter --listen 127.0.0.1:99999
	assert_usage_error "exporter: --listen: bad port in '127.0.0.1:99999'"
	ptrun exporter --max-series lots
	assert_usage_error "exporter: --max-series wants a non-negative number, not 'lots'"
	ptrun exporter --max-processes -1
	assert_usage_error "exporter: --max-processes wants a non-negative number"
	ptrun exporter --max-connections 0
	assert_usage_error "exporter: --max-connections wants at least 1"
	ptrun exporter --bogus
	assert_usage_error "exporter: option '--bogus' is unknown"
	ptrun exporter extra
	assert_usage_error "exporter: unexpected argument 'extra'"
	ptrun exporter --help
	[ "$status" -eq 0 ]
	[[ ${lines[0]} == "usage: pooltag exporter "* ]]
	exporter_start
	ptrun exporter --listen "$EXP_ADDR"
	assert_error "^pooltag: exporter: cannot listen on $EXP_ADDR: Address already in use$"
	exporter_stop
}

@test "exporter: a corrupt segment is counted and logged, the others still served" {
	tagged_start a
	tagged_work 1 a
	a=$TPID
	tagged_start b
	tagged_work 2 b
	printf 'NOTMAGIC' | dd of="$(seg_of "$a")" bs=1 seek=0 conv=notrunc status=none
	exporter_start
	scrape
	assert_value pooltag_scrape_processes 1
	assert_value pooltag_scrape_errors_total 1
	assert_value "pooltag_outstanding_allocations{pid=\"$TPID\",comm=\"tagged\",tag=\"Hdr \",pool=\"paged\"}" 2
	[[ $output != *"pid=\"$a\""* ]]
	scrape
	assert_value pooltag_scrape_errors_total 2
	exporter_stop
	[ "$(cat "$PT_TMP/exp.err")" = "pooltag: exporter: corrupt segment $(seg_of "$a"): not a pooltag segment (bad magic)
pooltag: exporter: corrupt segment $(seg_of "$a"): not a pooltag segment (bad magic)" ]
}

@test "exporter: processes that exit while scrapes run never break a scrape" {
	exporter_start --max-processes 3
	for round in 1 2 3 4 5 6; do
		tagged_start "p$round"
		tagged_work 1 "p$round"
		# Scrapes race with the exit of the process before.
		if [ "$round" -gt 1 ]; then
			prog_send "p$((round - 1))" quit
			scrape
			scrape
			prog_stop "p$((round - 1))"
		fi
		scrape
		n=$(value pooltag_scrape_processes)
		[ "$n" -ge 1 ] && [ "$n" -le 3 ]
		[[ $output == *"pid=\"$TPID\""* ]]
	done
	scrape
	assert_value pooltag_scrape_processes 1
	assert_value pooltag_scrape_errors_total 0
	exporter_stop
	[ ! -s "$PT_TMP/exp.err" ]
}

@test "exporter: --max-processes and --max-series say what they leave out" {
	tagged_start a
	tagged_work 1 a
	tagged_start b
	tagged_work 1 b
	ptrun exporter --once --max-processes 1
	pt_ok
	assert_value pooltag_scrape_processes 1
	assert_value pooltag_scrape_skipped_processes 1
	ptrun exporter --once --max-series 10
	pt_ok
	promtool check metrics <<<"$output"
	series=$(value pooltag_scrape_series)
	skipped=$(value pooltag_scrape_skipped_series)
	[ "$series" -le 10 ] && [ "$series" -gt 0 ]
	# Two processes, four tags each (six series per tag and pool), and two
	# series per process.
	[ $((series + skipped)) -eq $((2 * (4 * 6 + 2))) ]
}

# free_port: a loopback port nobody listens on now.
free_port() {
	python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# promql QUERY WANT: polls Prometheus's HTTP API (at $PROM) until the
# instant query QUERY gives a series whose value is WANT, or
# $PT_TIMEOUT * 4 seconds pass; prints the last answer on failure.
promql() {
	python3 - "$PROM" "$1" "$2" "$((PT_TIMEOUT * 4))" <<'EOF'
import json, sys, time, urllib.parse, urllib.request
prom, query, want, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + limit
last = None
while time.monotonic() < deadline:
    url = prom + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        last = json.load(urllib.request.urlopen(url, timeout=30))
        if last["status"] == "success" and any(
                r["value"][1] == want for r in last["data"]["result"]):
            print(json.dumps(last["data"]["result"]))
            sys.exit(0)
    except OSError as e:
        last = str(e)
    time.sleep(0.2)
sys.exit("no %s == %s within %gs; last answer: %s" % (query, want, limit, last))
EOF
}

@test "Prometheus scrapes the exporter and sees a leaking tag grow" {
	command -v prometheus >/dev/null || fail "prometheus is not installed (make deps installs it)"
	tagged_start
	tagged_work 10
	exporter_start
	cat >"$PT_TMP/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: pooltag
    static_configs:
      - targets: ['$EXP_ADDR']
EOF
	# A port picked now may be taken before Prometheus binds it: retry.
	for try in 1 2 3; do
		port=$(free_port)
		spawn /dev/null "$PT_TMP/prom.out" "$PT_TMP/prom.err" prometheus \
			--config.file="$PT_TMP/prometheus.yml" --storage.tsdb.path="$PT_TMP/tsdb" \
			--web.listen-address="127.0.0.1:$port"
		ppid=$SPAWNED
		PT_PIDS+=("$ppid")
		PROM="http://127.0.0.1:$port"
		ready=
		for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
			if python3 -c 'import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/-/ready", timeout=5)' "$PROM" 2>/dev/null; then
				ready=1
				break
			fi
			kill -0 "$ppid" 2>/dev/null || break
			sleep 0.1
		done
		[ -z "$ready" ] || break
		kill -9 "$ppid" 2>/dev/null || true
	done
	[ -n "$ready" ] || fail "Prometheus did not come up: $(tail -5 "$PT_TMP/prom.err")"
	promql "up{job=\"pooltag\"}" 1
	promql "pooltag_outstanding_allocations{tag=\"Hdr \",pool=\"paged\",pid=\"$TPID\",comm=\"tagged\"}" 10
	# The leak grows; Prometheus sees it on a later scrape.
	tagged_work 25
	promql "pooltag_outstanding_allocations{tag=\"Hdr \",pool=\"paged\",pid=\"$TPID\"}" 35
	promql "pooltag_outstanding_bytes{tag=\"Hdr \",pid=\"$TPID\"}" $((35 * 56))
	promql "pooltag_allocations_total{tag=\"Req \",pid=\"$TPID\"}" 35
	# Balanced tags stay at zero outstanding.
	promql "pooltag_outstanding_allocations{tag=\"Req \",pid=\"$TPID\"}" 0
	promql "pooltag_scrape_errors_total" 0
	# Prometheus took every sample the exporter says it wrote: the
	# per-process series and the scrape's own eight.
	promql "scrape_samples_scraped{job=\"pooltag\"} - on(job, instance) pooltag_scrape_series" 8
	kill -TERM "$ppid"
	wait_gone "$ppid"
	exporter_stop
}

# hostile_python: a python3 that uid 65534 can run (a per-user install may
# not be), in HOSTILE_PY; skips without one.
hostile_python() {
	local p
	for p in "$(command -v python3)" /usr/bin/python3; do
		if [ -n "$p" ] && "${NOBODY[@]}" "$p" -c '' 2>/dev/null; then
			HOSTILE_PY=$p
			return 0
		fi
	done
	skip "uid 65534 cannot run python3"
}

# soak CAP: with the exporter started (EXP_ADDR) and another user holding
# 1,000 connections to it, 300 processes linked with pooltag start and
# exit while a scraper asks for /metrics again and again: every scrape
# must be answered in full within 1 s, by the scraper's own deadline; the
# exporter's descriptors stay within CAP and its reserve.  The hostile
# client and the churn run at nice 10: what they hold does not change,
# but on a loaded machine the scheduler serves the exporter and the
# scraper first, as a machine's own services would be.
soak() {
	local cap=$1 fds
	rm -f "$PT_TMP/churned"
	spawn /dev/null "$PT_TMP/churn.out" "$PT_TMP/churn.err" nice -n 10 \
		python3 "$PT_SRC/tests/e2e/httpload.py" churn "$TAGGED" 30 10 "$PT_TMP/churned"
	PT_PIDS+=("$SPAWNED")
	run python3 "$PT_SRC/tests/e2e/httpload.py" scrape "$EXP_ADDR" 1 "$PT_TMP/churned" 50
	printf '# cap %s: %s; %s\n' "$cap" "$output" "$(cat "$PT_TMP/churn.out")" >&3
	[ "$status" -eq 0 ] || fail "$output; churn: $(cat "$PT_TMP/churn.err")"
	[[ $output =~ at\ most\ ([0-9]+)\ processes ]] && [ "${BASH_REMATCH[1]}" -ge 1 ]
	[ "$(cat "$PT_TMP/churn.out")" = "300 processes" ]
	fds=$(ls "/proc/${PROG_PID[exp]}/fd" | wc -l)
	[ "$fds" -le $((cap + 32)) ] || fail "the exporter holds $fds descriptors, more than $cap + 32"
	kill -0 "${PROG_PID[hold]}" || fail "the hostile client died: $(cat "$PT_TMP/hold.err")"
}

# hold_stop: ends the hostile client (end of its input) and reports how
# many connections the server closed under it.
hold_stop() {
	local fd=${PROG_IN[hold]}
	exec {fd}>&-
	PROG_IN[hold]=
	prog_expect hold 'reopened [0-9]+' || return 1
	printf '# %s\n' "$REPLY" >&3
	prog_stop hold
	rm -f "$PT_TMP/hold.in" "$PT_TMP/hold.out"
}

@test "exporter soak: another user's 1,000 idle and slow connections never delay a scrape past 1 s" {
	need_nobody
	hostile_python
	tagged_start
	tagged_work 5
	# The default cap (1,024) holds all 1,000: idle and slow clients that
	# do not stop the others, and leave at their read deadline.
	exporter_start
	prog_start hold nice -n 10 "${NOBODY[@]}" "$HOSTILE_PY" "$PT_SRC/tests/e2e/httpload.py" \
		hold "$EXP_ADDR" 1000
	prog_expect hold 'holding 1000'
	soak 1024
	[ ! -s "$PT_TMP/exp.err" ] || fail "$(cat "$PT_TMP/exp.err")"
	rss=$(awk '$1 == "VmHWM:" { print $2 }' "/proc/${PROG_PID[exp]}/status")
	printf '# exporter peak resident memory %s KiB\n' "$rss" >&3
	hold_stop
	exporter_stop
	[ ! -s "$PT_TMP/exp.err" ]
	# A cap of 256 under the same 1,000: each new connection takes the
	# place of the oldest idle one, and the scraper's is always served.
	exporter_start --max-connections 256
	prog_start hold nice -n 10 "${NOBODY[@]}" "$HOSTILE_PY" "$PT_SRC/tests/e2e/httpload.py" \
		hold "$EXP_ADDR" 1000
	prog_expect hold 'holding 1000'
	soak 256
	hold_stop
	exporter_stop
	[ ! -s "$PT_TMP/exp.err" ] || fail "$(cat "$PT_TMP/exp.err")"
}
