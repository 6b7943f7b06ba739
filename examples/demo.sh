#!/usr/bin/env bash
# make demo: a small server allocating under a few tags, read live by the
# pooltag CLI the way a user would: the !poolused table, the call sites of
# one tag, a snapshot, and a diff that points at the tag that leaks.
set -euo pipefail
B=${1:-build}
PT="$B/pooltag"
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${prog_pid:-}" ] && kill "$prog_pid" 2>/dev/null; true' EXIT

show() { # echo the command, then run it
	printf '\n$ %s\n' "$*" | sed "s|$B/||g; s|$work/||g"
	"$@"
}
ask() { # send a command to the program and wait for its "ok"
	echo "$1" >&"${prog[1]}"
	local line
	while read -r line <&"${prog[0]}"; do
		[ "$line" = ok ] && return 0
		reply=$line
	done
	echo "demo: the program stopped" >&2
	exit 1
}

coproc prog { exec "$B/examples/tagged"; }
prog_pid=$!
ask pid
pid=$reply
echo "== A small server (examples/tagged.c, pid $pid) allocates under the tags"
echo "   Conn, Req , Key  (non-paged: locked in RAM) and Hdr . It serves 2000 requests."
ask "work 2000"
show "$PT" used "$pid"
echo
echo "== Verbose (WinDbg flag 1), sorted by paged bytes (flag 4), with call sites:"
show "$PT" used 5 --sites "$pid"
show "$PT" snap "$pid" -o "$work/before.snap"
echo
echo "== 3000 more requests, then what grew since the snapshot:"
ask "work 3000"
show "$PT" diff "$work/before.snap" "$pid"
echo
echo "== The cache behind 'Hdr ' never evicts: 5000 requests, 5000 headers held."
echo "   pooltag named the tag, its only call site (examples/tagged.c, serve) and"
echo "   its growth, while the program kept running and without stopping it."
echo quit >&"${prog[1]}"
wait "$prog_pid" 2>/dev/null || true
prog_pid=
if ls "${POOLTAG_DIR:-/dev/shm}/pooltag-$pid" >/dev/null 2>&1; then
	echo "demo: the segment of $pid was not removed at exit" >&2
	exit 1
fi
echo "   At exit the program freed everything and its segment was removed."
