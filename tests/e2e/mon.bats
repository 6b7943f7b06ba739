#!/usr/bin/env bats
# `pooltag mon`: the full-screen monitor driven in a real terminal (a tmux
# server of the test's own, 80x24, a shell in it), keys sent and the screen
# captured; and the plain tables it prints when its output is not a
# terminal.  Every wait polls the screen with a timeout.

load helpers

setup() {
	pt_setup
	command -v tmux >/dev/null || fail "needs tmux (scripts/deps.sh installs it)"
	TSOCK="$PT_TMP/tmux.sock"
	SEED="$PT_BUILD/examples/seed"
}

teardown() {
	[ -z "$TSOCK" ] || tmux -S "$TSOCK" kill-server 2>/dev/null || true
	pt_teardown
}

tm() {
	tmux -S "$TSOCK" "$@"
}

# term_start: an 80x24 terminal running a plain shell with prompt "$ ",
# started without this shell's FIFO descriptors and bats's fd 3 (a server
# holding them would keep the driven programs and bats waiting).
term_start() {
	(
		for fd in "${PT_FDS[@]}"; do
			eval "exec $fd>&-"
		done
		exec 3>&-
		tmux -S "$TSOCK" -f /dev/null new-session -d -x 80 -y 24 \
			"env PS1='$ ' TERM=tmux-256color bash --norc --noprofile"
	) </dev/null >/dev/null 2>&1
	tm set-option -g status off
	tm set-option -g escape-time 0
	screen_wait '^\$'
}

# type_line TEXT: types TEXT and Enter into the shell.
type_line() {
	tm send-keys -l "$1"
	tm send-keys Enter
}

# screen [-e]: the visible screen (with -e, attributes as escape codes).
screen() {
	tm capture-pane -p "$@"
}

# screen_wait REGEX: polls until some line of the screen matches REGEX
# (bash regex, unanchored), at most $PT_TIMEOUT seconds.
screen_wait() {
	local i l
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		while IFS= read -r l; do
			[[ $l =~ $1 ]] && return 0
		done < <(screen)
		sleep 0.05
	done
	fail "no line matching '$1' on the screen within ${PT_TIMEOUT}s:"$'\n'"$(screen)"
}

# screen_gone REGEX: polls until no line of the screen matches REGEX.
screen_gone() {
	local i
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		screen | grep -Eq -- "$1" || return 0
		sleep 0.05
	done
	fail "'$1' still on the screen after ${PT_TIMEOUT}s:"$'\n'"$(screen)"
}

# file_wait REGEX FILE: polls until a line of FILE matches (grep -E).
file_wait() {
	local i
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		grep -Eq -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.05
	done
	fail "no line matching '$1' in $2 within ${PT_TIMEOUT}s:"$'\n'"$(cat "$2")"
}

# keys KEY...: sends keys to the monitor.
keys() {
	tm send-keys "$@"
}

# mon_start ARGS...: runs `pooltag mon ARGS` in the terminal's shell, which
# first saves the terminal settings and afterwards prints the exit status
# and whether the settings came back unchanged.  Waits for the table.
mon_start() {
	type_line "stty -g >$PT_TMP/stty.before; clear; $PT mon $*; echo \"rc=\$?\"; stty -g | cmp -s - $PT_TMP/stty.before && echo tty-restored"
	screen_wait '^ Tag  Pool'
}

# table_order: the tags and pools of the table's rows on screen, in order
# ("Conn/P Key /N ..."); expanded rows start with '-'.
table_order() {
	screen | sed -n 's/^[ -]\(....\) \(Paged\|Nonp \) .*/\1\/\2/p' | sed 's/Paged$/P/; s/Nonp $/N/' |
		tr '\n' ' ' | sed 's/ $//'
}

# order_wait "A/P B/N ...": polls until the table shows this order.
order_wait() {
	local i
	for ((i = 0; i < PT_TIMEOUT * 20; i++)); do
		[ "$(table_order)" = "$1" ] && return 0
		sleep 0.05
	done
	fail "table order '$(table_order)', expected '$1':"$'\n'"$(screen)"
}

# bold_mask REGEX: the first screen line matching REGEX (on its text), then
# a mask of it: 'B' where a character is bold, '.' elsewhere.
bold_mask() {
	screen -e | python3 -c '
import re, sys
pat = re.compile(sys.argv[1])
for raw in sys.stdin.read().split("\n"):
    text, mask, bold = "", "", False
    for m in re.finditer(r"\x1b\[([0-9;]*)m|\x1b[^\[]|([^\x1b])", raw):
        if m.group(2) is not None:
            text += m.group(2)
            mask += "B" if bold else "."
        elif m.group(1) is not None:
            ps = (m.group(1) or "0").split(";")
            while ps:
                p = ps.pop(0)
                if p in ("38", "48"):  # extended colour: its arguments follow
                    del ps[:2 if ps and ps[0] == "5" else 4]
                elif p in ("0", ""):
                    bold = False
                elif p == "1":
                    bold = True
                elif p == "22":
                    bold = False
    if pat.search(text):
        print(text)
        print(mask)
        sys.exit(0)
sys.exit("no line matches %r" % sys.argv[1])' "$1"
}

# The columns of a row (tmux drops trailing blanks): tag 0-4, pool 5-10,
# allocs 11-19, its change 20-26, frees 27-35, its change 36-42, diff
# 43-50, bytes 51-60, its change 61-68, per-alloc 69-78.
cells_of() { # MASK FROM TO
	printf '%s' "${1:$2:$(($3 - $2 + 1))}"
}

@test "mon: the table fits 80x24; t a f d b m c sort, pressing again or r reverses, p cycles pools" {
	tagged_start
	tagged_work 5
	term_start
	mon_start -i 3600 "$TPID"
	screen_wait "^ pooltag mon  pid $TPID \\(tagged\\)  [0-9:]{8}  every 3600s$"
	screen_wait '^ Nonp: 0 allocs, 0 bytes \(0\)   Paged: 5 allocs, 280 bytes \(0\)$'
	screen_wait '^ Sort: tag  Pools: both  Filter: none  Changes: since last read$'
	screen_wait '^ Tag  Pool    Allocs  \(chg\)    Frees  \(chg\)    Diff     Bytes   \(chg\) Per-Alloc$'
	screen_wait '^ Hdr  Paged        5 \(   0\)        0 \(   0\)       5       280 \(    0\)        56$'
	screen_wait '^ Key  Nonp         5 \(   0\)        5 \(   0\)       0         0 \(    0\)         0$'
	order_wait 'Conn/P Hdr /P Key /N Req /P'
	keys b
	order_wait 'Hdr /P Conn/P Key /N Req /P'
	screen_wait '^ Sort: bytes  Pools'
	keys b
	order_wait 'Req /P Key /N Conn/P Hdr /P'
	screen_wait '^ Sort: bytes \(reversed\)  Pools'
	keys r
	order_wait 'Hdr /P Conn/P Key /N Req /P'
	keys t r
	order_wait 'Req /P Key /N Hdr /P Conn/P'
	keys d
	order_wait 'Hdr /P Conn/P Key /N Req /P'
	keys f
	order_wait 'Conn/P Key /N Req /P Hdr /P'
	keys m
	order_wait 'Hdr /P Conn/P Key /N Req /P'
	keys a
	order_wait 'Conn/P Hdr /P Key /N Req /P'
	keys p
	order_wait 'Conn/P Hdr /P Req /P'
	screen_wait 'Pools: paged'
	keys p
	order_wait 'Key /N'
	keys p
	order_wait 'Conn/P Hdr /P Key /N Req /P'
	# Sort by change: after 3 more requests only "Hdr " grew in bytes.
	keys c
	tagged_work 3
	keys C-l
	screen_wait '^ Hdr  Paged        8 \(   3\)        0 \(   0\)       8       448 \(  168\)        56$'
	order_wait 'Hdr /P Conn/P Key /N Req /P'
	keys q
	screen_wait '^rc=0$'
	screen_wait '^tty-restored$'
}

@test "mon: changed cells are highlighted until a read changes nothing; l turns it off" {
	tagged_start
	tagged_work 5
	term_start
	mon_start -i 3600 "$TPID"
	tagged_work 3
	keys C-l
	screen_wait '^ Hdr  Paged        8 \(   3\)        0 \(   0\)       8       448 \(  168\)        56$'
	# "Hdr ": allocs, diff and bytes changed, frees and per-alloc did not.
	mapfile -t m < <(bold_mask '^ Hdr  Paged')
	[ "$(cells_of "${m[1]}" 0 10)" = "..........." ] || fail "tag bold: ${m[*]}"
	[ "$(cells_of "${m[1]}" 11 26)" = "BBBBBBBBBBBBBBBB" ] || fail "allocs not highlighted: ${m[*]}"
	[ "$(cells_of "${m[1]}" 27 42)" = "................" ] || fail "frees highlighted: ${m[*]}"
	[ "$(cells_of "${m[1]}" 43 68)" = "BBBBBBBBBBBBBBBBBBBBBBBBBB" ] || fail "diff, bytes not highlighted: ${m[*]}"
	[ "$(cells_of "${m[1]}" 69 78)" = ".........." ] || fail "per-alloc highlighted: ${m[*]}"
	# "Key ": allocs and frees changed, nothing outstanding did.
	mapfile -t m < <(bold_mask '^ Key  Nonp')
	[ "$(cells_of "${m[1]}" 11 42)" = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB" ] || fail "key: ${m[*]}"
	[ "$(cells_of "${m[1]}" 43 78)" = "...................................." ] || fail "key: ${m[*]}"
	# Rates per second instead of changes: the title says so.
	keys s
	screen_wait '^ Tag  Pool    Allocs   \(/s\)    Frees   \(/s\)'
	screen_wait 'Changes: per second'
	keys s
	# l: no highlighting, same numbers.
	keys l
	screen_wait '\(no highlight\)$'
	mapfile -t m < <(bold_mask '^ Hdr  Paged')
	[[ ${m[1]} != *B* ]] || fail "highlighted with l: ${m[*]}"
	keys l
	screen_gone 'no highlight'
	# A read with nothing new: no cell is highlighted any more.
	keys C-l
	screen_wait '^ Hdr  Paged        8 \(   0\)        0 \(   0\)       8       448 \(    0\)        56$'
	mapfile -t m < <(bold_mask '^ Hdr  Paged')
	[[ ${m[1]} != *B* ]] || fail "still highlighted: ${m[*]}"
	keys q
	screen_wait '^rc=0$'
	screen_wait '^tty-restored$'
}

@test "mon: arrows and e or Enter expand a tag into its call sites; / filters by pattern" {
	tagged_start
	tagged_work 5
	tagged_lines
	term_start
	mon_start -i 3600 "$TPID"
	# The first row is selected (reverse video); Down twice reaches "Key ".
	keys Down Down e
	screen_wait '^-Key  Nonp         5 \(   0\)        5 \(   0\)       0         0 \(    0\)         0$'
	screen_wait '^     Allocated in serve \(examples/tagged.c\) , Binary: tagged$'
	screen_wait '^   site            5 \(   0\)        5 \(   0\)       0         0 \(    0\)         0$'
	screen_wait "^        at examples/tagged.c:$KEY_LINE in serve \\(tagged\\)$"
	keys Up Enter
	screen_wait '^-Hdr  Paged'
	screen_wait "^        at examples/tagged.c:$HDR_LINE in serve \\(tagged\\)$"
	# The site's change: 2 more requests.
	tagged_work 2
	keys C-l
	screen_wait '^   site            7 \(   2\)        0 \(   0\)       7       392 \(  112\)        56$'
	keys e
	screen_gone "tagged.c:$HDR_LINE"
	screen_wait "tagged.c:$KEY_LINE"
	# A filter by pattern, as `pooltag used` takes it.
	keys /
	screen_wait '^ Filter \(tag pattern, empty for all\):$'
	keys -l 'H*'
	keys Enter
	order_wait 'Hdr /P'
	screen_wait 'Filter: H\*'
	keys / BSpace BSpace
	keys -l '?e*'
	keys Enter
	order_wait 'Key /N Req /P'
	keys / BSpace BSpace BSpace
	keys -l 'ABCDEF'
	keys Enter
	screen_wait "^ bad tag pattern 'ABCDEF': "
	order_wait 'Key /N Req /P'
	keys / BSpace BSpace BSpace Enter
	order_wait 'Conn/P Hdr /P Key /N Req /P'
	keys q
	screen_wait '^rc=0$'
}

@test "mon: a tag's references and handles, by line and module (the seed's host)" {
	LOOKUP_LINE=$(src_line examples/seed/procpath.c '/* takes a reference */')
	OPEN_LINE=$(src_line examples/seed/procpath.c '/* opens a handle */')
	prog_start h "$SEED/host" "$SEED/libsey.so" 300
	while prog_read h; do
		[[ $REPLY =~ ^host:\ driver\ unloaded\;\ pid\ ([0-9]+)\ waiting ]] && break
	done
	hpid=${BASH_REMATCH[1]}
	[ -n "$hpid" ] || fail "host did not reach the wait"
	ptrun refs "$hpid"
	pt_ok
	read -r held taken released < <(printf '%s\n' "$output" |
		awk '$1 == "libsey.so" && $2 == "refs" && $3 == "Proc" { print $4, $5, $6 }')
	[[ $held =~ ^[0-9]+$ ]] && ((held > 0)) || fail "no references held: $output"
	read -r hheld htaken hreleased < <(printf '%s\n' "$output" |
		awk '$1 == "libsey.so" && $2 == "handles" && $3 == "Proc" { print $4, $5, $6 }')
	term_start
	mon_start -i 3600 Proc "$hpid"
	order_wait 'Proc/N'
	keys e
	screen_wait "^   references held $held \\(0\\), taken $taken, released $released$"
	screen_wait "^   handles    held $hheld \\(0\\), taken $htaken, released $hreleased$"
	screen_wait "^        at examples/seed/procpath.c:$LOOKUP_LINE in get_process_image_path \\(libsey.so\\)$"
	screen_wait "^        at examples/seed/procpath.c:$OPEN_LINE in get_process_image_path \\(libsey.so\\)$"
	keys q
	screen_wait '^rc=0$'
	# Enter: the host releases what the driver left and exits.
	prog_send h ""
	while prog_read h; do
		[[ $REPLY == *"exiting"* ]] && break
	done
	prog_stop h
}

@test "mon: redraws on resize, wide terminals get the description and one line per site" {
	tagged_start
	tagged_work 5
	tagged_lines
	term_start
	mon_start -i 3600 "$TPID"
	keys Down e
	screen_wait "^        at examples/tagged.c:$HDR_LINE in serve"
	tm resize-window -x 132 -y 30
	screen_wait ' Per-Alloc  Description$'
	screen_wait '^ Conn Paged .* 0  Connection state , Binary: tagged$'
	screen_wait "^   site  .*56  at examples/tagged.c:$HDR_LINE in serve \\(tagged\\)$"
	# 10 lines leave 5 for the table's 7: End scrolls to the last row,
	# Home back to the first.
	tm resize-window -x 80 -y 10
	screen_wait "^        at examples/tagged.c:$HDR_LINE in serve"
	keys End
	order_wait 'Key /N Req /P'
	screen_wait '^   site '
	keys Home
	order_wait 'Conn/P Hdr /P'
	tm resize-window -x 40 -y 6
	screen_wait '^pooltag mon: the terminal is too small'
	tm resize-window -x 80 -y 24
	screen_wait "^        at examples/tagged.c:$HDR_LINE in serve"
	# All four rows show only once the 24-line screen is drawn: then, and
	# not before, the 80-column layout must have no Description column.
	order_wait 'Conn/P Hdr /P Key /N Req /P'
	! screen | grep -q 'Description' || fail "Description at 80 columns:"$'\n'"$(screen)"
	keys q
	screen_wait '^rc=0$'
	screen_wait '^tty-restored$'
}

@test "mon: help, pause, interval keys; Ctrl-C leaves the terminal as it was" {
	tagged_start
	tagged_work 1
	term_start
	mon_start "$TPID"
	screen_wait 'every 1s$'
	keys h
	screen_wait '^pooltag mon: keys$'
	screen_wait '^  c +sort by change'
	keys x
	screen_wait '^ Tag  Pool'
	keys +
	screen_wait 'every 2s$'
	keys - -
	screen_wait 'every 0.5s$'
	keys Space
	screen_wait 'every 0.5s  PAUSED$'
	keys Space
	screen_gone 'PAUSED'
	keys C-c
	screen_gone '^ Tag  Pool'
	type_line 'echo "rc=$?"; stty -g | cmp -s - '"$PT_TMP"'/stty.before && echo tty-restored'
	screen_wait '^rc=130$'
	screen_wait '^tty-restored$'
	# A terminal ncurses does not know: one line, status 1.
	type_line "clear; TERM=nosuchterm $PT mon $TPID; echo \"rc=\$?\""
	screen_wait '^pooltag: mon: cannot use the terminal \(TERM=nosuchterm\); redirect the output'
	screen_wait '^rc=1$'
}

@test "mon: the process's exit ends the monitor, which says so" {
	tagged_start
	tagged_work 1
	term_start
	mon_start -i 0.2 "$TPID"
	prog_send t quit
	prog_stop t
	screen_wait "^pooltag: process $TPID \\(tagged\\) has exited$"
	screen_wait '^rc=0$'
	screen_wait '^tty-restored$'
}

@test "mon: plain tables when the output is not a terminal" {
	tagged_start
	tagged_work 5
	ptrun mon -n 2 -i 0.1 "$TPID"
	pt_ok
	[ "$(grep -c "^ pid $TPID (tagged)  [0-9-]* [0-9:]*  every 0.1s  sort tag$" <<<"$output")" -eq 2 ] ||
		fail "not 2 tables: $output"
	[ "$(grep -c '^ Hdr  Paged          5        0          0        0         5          280          0        56        0.0        0.0          0.0  Allocated in serve (examples/tagged.c) , Binary: tagged$' <<<"$output")" -eq 2 ] ||
		fail "Hdr rows: $output"
	[[ ${lines[1]} == " Tag  Pool      Allocs   Change      Frees   Change      Diff        Bytes     Change Per-Alloc   Allocs/s    Frees/s      Bytes/s" ]] ||
		fail "titles: ${lines[1]}"
	[ "$(grep -c '^ TOTAL Paged        15        0         10        0         5          280          0$' <<<"$output")" -eq 2 ] ||
		fail "totals: $output"
	# Sorted, filtered, one pool.
	ptrun mon -n 1 -s d -p paged '?e*' "$TPID"
	pt_ok
	# TOTAL rows count the whole process, the filter aside.
	[ "$(grep -cE '^ .{4} (Paged|Nonp ) ' <<<"$output")" -eq 1 ] || fail "rows: $output"
	[[ $output == *" Req  Paged "* && $output != *"Key "* ]] || fail "filter: $output"
	# Changes between tables, until the process exits.
	spawn /dev/null "$PT_TMP/plain.out" "$PT_TMP/plain.err" timeout -k 5 120 "$PT" mon -i 0.1 "$TPID"
	monpid=$SPAWNED
	PT_PIDS+=("$monpid")
	file_wait '^ Hdr  Paged          5 ' "$PT_TMP/plain.out" # the first read
	tagged_work 3
	file_wait '^ Hdr  Paged          8 ' "$PT_TMP/plain.out"
	prog_send t quit
	prog_stop t
	wait "$monpid" || fail "mon exited with status $?"
	[ "$(cat "$PT_TMP/plain.err")" = "pooltag: process $TPID (tagged) has exited" ] ||
		fail "stderr: $(cat "$PT_TMP/plain.err")"
	# The changes of "Hdr " add up to the 3 requests, the last read has 8.
	sum=$(awk '$1 == "Hdr" { s += $4; last = $3 } END { print s, last }' "$PT_TMP/plain.out")
	[ "$sum" = "3 8" ] || fail "Hdr changes, last allocs: '$sum'"
	awk '$1 == "Hdr" && $4 > 0 && $11 + 0 <= 0 { exit 1 }' "$PT_TMP/plain.out" ||
		fail "a change without a rate: $(cat "$PT_TMP/plain.out")"
}

@test "mon: w shows the sampled call paths in place of the table; -w N under plain tables" {
	sampler_start
	term_start
	mon_start -i 3600 "$SPID"
	keys w
	screen_wait "^ Sampled call paths: one allocation in about 512\.0 KiB; '~' marks estimates$"
	# The biggest first, two lines each.
	screen_wait '^ Samp ~[0-9.]+ MiB live \([0-9]+ samples\) at tests/progs/sampler\.c:[0-9]+ in grab$'
	screen_wait '^       via sampler\.c:[0-9]+ in build_a <- sampler\.c:[0-9]+ in main$'
	[ "$(screen | grep -m1 '^       via ')" = "$(screen | grep '^       via .*build_a')" ] ||
		fail "build_a is not first:"$'\n'"$(screen)"
	screen_wait 'in build_b <- '
	screen_wait '^ w table  q quit'
	# Scrolling, on a screen with room for one path: Down leaves the
	# first above, Up brings it back.
	tm resize-window -x 80 -y 8
	screen_gone 'in build_b <- '
	keys Down
	screen_wait 'in build_b <- '
	screen_gone 'in build_a <- '
	keys Up
	screen_wait 'in build_a <- '
	tm resize-window -x 80 -y 24
	screen_wait 'in build_b <- '
	# The filter applies; with no match, says so.
	keys /
	keys -l 'Zz*'
	keys Enter
	screen_wait '^ no sampled block is live$'
	keys / BSpace BSpace BSpace Enter
	screen_wait 'in build_a <- '
	# Freed memory leaves after a read.
	prog_cmd s free_a
	keys C-l
	screen_gone 'in build_a <- '
	screen_wait 'in build_b <- '
	keys w
	screen_wait '^ Tag  Pool'
	order_wait 'Samp/P'
	keys q
	screen_wait '^rc=0$'

	ptrun mon -n 2 -i 0.1 -w 1 "$SPID"
	pt_ok
	[ "$(grep -c '^ Samp sampled: ~' <<<"$output")" -eq 2 ] || fail "not one path per table: $output"
	[ "$(grep -c '^       via sampler.c:[0-9]* in build_b <- sampler.c:[0-9]* in main$' <<<"$output")" -eq 2 ] ||
		fail "path b: $output"
	ptrun mon -n 1 "$SPID"
	pt_ok
	[[ $output != *"Sampled call paths"* ]] || fail "paths without -w: $output"
	ptrun mon -n 1 -w x "$SPID"
	assert_usage_error "mon: --sampled-paths wants a non-negative number, not 'x'"
	prog_stop s
}

@test "mon: bad arguments and processes" {
	ptrun mon
	assert_usage_error 'mon: which process\?'
	ptrun mon abc
	assert_usage_error "'abc' is not a process id"
	ptrun mon -i 0 1
	assert_usage_error '-i wants seconds from 0.05 to 86400'
	ptrun mon -i nan 1
	assert_usage_error "-i wants seconds .*, not 'nan'"
	ptrun mon -s size 1
	assert_usage_error "unknown sort key 'size'"
	ptrun mon -p both2 1
	assert_usage_error "unknown pools 'both2'"
	ptrun mon -n 0 1
	assert_usage_error '-n wants at least 1'
	ptrun mon ABCDEF 1
	assert_usage_error "bad tag pattern 'ABCDEF'"
	ptrun mon 1 2 3
	assert_usage_error 'too many arguments'
	ptrun mon --tags "$PT_TMP/none.txt" 1
	assert_error "cannot read tag file $PT_TMP/none.txt"
	ptrun mon 999999999
	assert_error 'no such process: 999999999'
	bg_sleep
	ptrun mon "$SLEEP_PID"
	assert_error "process $SLEEP_PID does not export pooltag counters"
	ptrun mon --help
	pt_ok
	[[ ${lines[0]} == "usage: pooltag mon [OPTIONS] [PATTERN] PID|kernel" ]]
}
