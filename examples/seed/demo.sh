#!/usr/bin/env bash
# examples/seed/demo.sh - make demo: the seed's story (../shared/SEED.md) end
# to end.  A host with a process manager loads a driver, runs a process
# stress test under it and unloads it; pooltag then shows, as the seed's
# !poolused did, that the driver's own tags are balanced while process
# objects pile up, and names the driver, the object type, the count and the
# lines that took the references.  Then the same run with the fixed routine.
#
#	bash examples/seed/demo.sh [BUILD]     (from the source tree; make builds first)
#
# SEED_COUNT (default 13000) sets the number of processes.
set -euo pipefail
B=${1:-build}
PT="$B/pooltag"
HOST="$B/examples/seed/host"
SRC=examples/seed/procpath.c
COUNT=${SEED_COUNT:-13000}
for f in "$PT" "$HOST" "$B/examples/seed/libsey.so" "$B/examples/seed/libsey_fixed.so" "$SRC"; do
	[ -e "$f" ] || { echo "demo: $f is missing (run make first, from the source tree)" >&2; exit 1; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"; [ -n "${host_pid:-}" ] && kill "$host_pid" 2>/dev/null; true' EXIT

# Call stacks in the unload report; the accounting per line is always on.
export POOLTAG_TRACK=stacks

t_start=$EPOCHREALTIME
t_step=$t_start
elapsed() { # seconds since $1, two decimals
	local us=$((${EPOCHREALTIME/./} - ${1/./}))
	printf '%d.%02d' $((us / 1000000)) $((us % 1000000 / 10000))
}
step() { # a heading
	printf '\n== %s\n' "$*"
}
say() { printf '   %s\n' "$@"; }
show() { # echo the command, then run it
	printf '\n$ %s\n' "$*" | sed "s|$B/||g"
	"$@"
}
line_of() { # the line of $SRC holding the text $1
	grep -nF -- "$1" "$SRC" | cut -d: -f1
}

# run_host DRIVER: starts the host with DRIVER, its input and output on
# FIFOs, echoes its output until it waits, and sets host_pid, pid (what it
# reports), leaked (process objects not deleted) and report (its stderr:
# pooltag's unload report).
run_host() {
	local name line
	name=$(basename "$1" .so)
	report="$work/$name.report"
	mkfifo "$work/$name.in" "$work/$name.out"
	"$HOST" "$1" "$COUNT" <"$work/$name.in" >"$work/$name.out" 2>"$report" &
	host_pid=$!
	# In the order the host opens them, so that neither open blocks forever.
	exec {host_in}>"$work/$name.in" {host_out}<"$work/$name.out"
	pid=
	while IFS= read -r -t 120 line <&"$host_out"; do
		printf '   | %s\n' "$line"
		[[ $line =~ ([0-9]+)\ process\ objects\ not\ deleted ]] && leaked=${BASH_REMATCH[1]}
		if [[ $line =~ pid\ ([0-9]+)\ waiting ]]; then
			pid=${BASH_REMATCH[1]}
			return 0
		fi
	done
	echo "demo: the host stopped before unloading the driver; its stderr:" >&2
	cat "$report" >&2
	exit 1
}

# end_host: presses Enter; the host releases what the driver left and exits.
end_host() {
	local line rc=0
	echo >&"$host_in"
	exec {host_in}>&-
	while IFS= read -r -t 120 line <&"$host_out"; do
		printf '   | %s\n' "$line"
	done
	exec {host_out}<&-
	wait "$host_pid" || rc=$?
	host_pid=
	[ "$rc" -eq 0 ] || { echo "demo: the host exited with status $rc" >&2; exit 1; }
}

# The report, indented.
show_report() {
	sed 's/^/   > /' "$report"
}

lookup_line=$(line_of '/* takes a reference */')
open_line=$(line_of '/* opens a handle */')

step "The seed's story, reproduced"
say "examples/seed/host.c, ps.c  the \"kernel\": process objects (tag Proc), each with a token"
say "                            (SeTd) and an audit image name (SePa), freed when the object dies."
say "examples/seed/sey.c         a driver, libsey.so, that watches process creation under its own"
say "                            tags SEY1..SEYD and reads each new process's image path with"
say "examples/seed/procpath.c    get_process_image_path(), a routine copied from a forum."
say "The stress test creates, runs and exits $COUNT processes; then the driver is unloaded."

step "1. Stress with the driver loaded, then unload it"
run_host "$B/examples/seed/libsey.so"
buggy_pid=$pid buggy_leaked=$leaked
say "The stress passed and the driver unloaded without a crash (what pooltag said at the unload"
say "went to the host's stderr: step 3).  But most process objects were never deleted, although"
say "every process exited.  Look at the pool as the seed's developer did with !poolused 7 in the"
say "kernel debugger (verbose, sorted by non-paged bytes), while the host waits:"

show "$PT" used 7 "$pid"
say "SEY1..SEYD, the driver's own tags: heavy traffic, every one balanced (Diff 0)."
say "Proc: $COUNT process objects allocated, $leaked of them never freed.  With each its token"
say "(SeTd, in both pools) and its image name (SePa) stay allocated too.  The leak is charged to"
say "the kernel's tags, not the driver's: a check of the driver's own memory sees nothing."

step "2. Who holds the process objects?"
show "$PT" refs "$pid"
say "The references and the handles were taken by libsey.so, at two lines of procpath.c."

step "3. What pooltag reported when the driver was unloaded (stderr of the host)"
show_report
say "The lines it names, in get_process_image_path ($SRC):"
start=$(line_of 'int get_process_image_path(')
end=$(awk -v s="$start" 'NR > s && /^}/ { print NR; exit }' "$SRC")
expand -t 4 "$SRC" | awk -v s="$start" -v e="$end" -v a="$lookup_line" -v b="$open_line" '
	NR >= s && NR <= e {
		printf "   %s %3d  %s\n", (NR == a || NR == b) ? ">>" : "  ", NR, $0
	}'
say "Most image paths take 65 bytes with their NUL; the driver's buffer is 64.  So nearly every"
say "query takes the QUERY_BUFFER_TOO_SMALL branch (and one pid in 97 the QUERY_FAILED one),"
say "which returns without zw_close() and ob_dereference(): each leaves a handle and a"
say "reference, and the process object can never be deleted."
end_host
t_buggy=$(elapsed "$t_step")

step "4. The same run with the fixed routine (libsey_fixed.so: the error branches release)"
t_step=$EPOCHREALTIME
run_host "$B/examples/seed/libsey_fixed.so"
show "$PT" used 7 "$pid"
say "Proc, SeTd and SePa: everything allocated was freed (Diff 0), the SEY tags as before."
say "The driver still cannot read most paths (its buffer is still 64 bytes), but on those"
say "error branches it now closes the handle and dereferences the process."
show "$PT" refs "$pid"
say "And the unload report:"
show_report
end_host
t_fixed=$(elapsed "$t_step")

step "5. With the verifier on (POOLTAG_VERIFY=1), the buggy driver stops the host at unload"
t_step=$EPOCHREALTIME
rc=0
POOLTAG_TRACK= POOLTAG_VERIFY=1 "$HOST" "$B/examples/seed/libsey.so" 1000 </dev/null \
	>/dev/null 2>"$work/verify.err" || rc=$?
printf '\n$ POOLTAG_VERIFY=1 examples/seed/host examples/seed/libsey.so 1000\n'
sed 's/^/   > /' "$work/verify.err"
say "exit status $rc (PT_BUGCHECK_EXIT is 86): the seed's Driver Verifier stayed silent here."
[ "$rc" -eq 86 ] || { echo "demo: expected exit status 86" >&2; exit 1; }
t_verify=$(elapsed "$t_step")

step "6. Systematic fault injection: one process, no stress loop, every error path once"
t_step=$EPOCHREALTIME
say "With a single process whose image path fits, the driver takes only its success path:"
say "nothing leaks and a stress test would have to be lucky.  'pooltag faults' runs the host"
say "once to count its acquisitions (allocations, references, handle opens), then once per"
say "acquisition with that one failing, each run checked at the driver's unload and at exit."
rc=0
"$PT" faults -- "$HOST" "$B/examples/seed/libsey.so" 1 >"$work/faults.out" 2>&1 || rc=$?
printf '\n$ pooltag faults -- examples/seed/host examples/seed/libsey.so 1\n'
sed 's/^/   /' "$work/faults.out"
grep -q "procpath.c:$lookup_line in get_process_image_path" "$work/faults.out" ||
	{ echo "demo: pooltag faults did not find the leak" >&2; exit 1; }
say "Failing the reference that zw_query_image_name takes sends the driver down its"
say "QUERY_FAILED branch, which leaks the reference and the handle of lines $lookup_line and"
say "$open_line: the seed's bug, found without a stress loop and without a buffer too small."
rc=0
"$PT" faults -- "$HOST" "$B/examples/seed/libsey_fixed.so" 1 >"$work/faults-fixed.out" 2>&1 || rc=$?
printf '\n$ pooltag faults -- examples/seed/host examples/seed/libsey_fixed.so 1\n'
sed 's/^/   /' "$work/faults-fixed.out"
[ "$rc" -eq 0 ] || { echo "demo: findings on the fixed driver" >&2; exit 1; }
t_faults=$(elapsed "$t_step")

step "Summary"
say "What happened: get_process_image_path() leaked a reference and a handle on its error"
say "  branches, so $buggy_leaked of $COUNT exited processes could not be deleted."
say "What showed it: not the driver's tags (balanced) but Proc, SeTd and SePa, the kernel's."
say "Where: libsey.so, $SRC, lines $lookup_line (ps_lookup_process) and $open_line"
say "  (ob_open_process), named by the unload report and by 'pooltag refs $buggy_pid'."
say "Timing: buggy run ${t_buggy} s, fixed run ${t_fixed} s, verifier run ${t_verify} s," \
	"  fault injection ${t_faults} s; total $(elapsed "$t_start") s."
