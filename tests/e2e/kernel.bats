#!/usr/bin/env bats
# The Linux kernel as a target: /proc/allocinfo read by `pooltag used`,
# `snap` and `diff`.  This machine's kernel may have no allocation
# profiling, so the tests point $POOLTAG_PROC at directories standing for
# /proc (tests/data/kernel/NAME/: allocinfo, modules, sys/vm/mem_profiling)
# and read saved copies; the last tests read the real /proc/allocinfo where
# it exists and can be read, and say why they skip otherwise.
#
# The fixtures: before/ and after/ a driver `sey` leaks at two sites
# (sey_open +24 allocations +98304 bytes, get_process_image_path +9 +576),
# `tidy` is clean, and the kernel's own thread stacks grow by 2; unloaded/
# (format 2.0) after `rmmod sey tidy` on a kernel that still lists sey's
# sites holding memory; removed/ after the same on a kernel that drops the
# unloaded modules' lines; disabled/ with profiling switched off.

load helpers

setup() {
	pt_setup
	KD="$PT_SRC/tests/data/kernel"
}

teardown() {
	pt_teardown
}

# kused DIR ARGS...: `pooltag used ARGS... kernel` with DIR standing for /proc.
kused() {
	local d=$1
	shift
	POOLTAG_PROC="$KD/$d" ptrun used "$@" kernel
}

# krow LABEL: the row of module LABEL ("[sey]", "(kernel)", "TOTAL"), blanks squeezed.
krow() {
	local l
	for l in "${lines[@]}"; do
		if [[ $l == " $1 "* ]]; then
			printf '%s\n' "$l" | tr -s ' ' | sed 's/^ //'
			return 0
		fi
	done
	fail "no row for '$1' in:"$'\n'"$output"
}

# kmodules: the module column of the table, in order, on one line.
kmodules() {
	local l started= out=
	for l in "${lines[@]}"; do
		if [[ $l == " Module "* ]]; then
			started=1
		elif [ -n "$started" ] && [[ $l =~ ^\ ([\[\(][^ ]*[\]\)])\  ]]; then
			out+="${BASH_REMATCH[1]} "
		fi
	done
	echo "${out% }"
}

# ksnap DIR FILE: a kernel snapshot of DIR standing for /proc.
ksnap() {
	POOLTAG_PROC="$KD/$1" run --separate-stderr "$PT" snap kernel -o "$2"
	pt_ok
	[ -z "$output" ] || fail "snap printed: $output"
}

# has_line TEXT: one line of the output is exactly TEXT.
has_line() {
	local l
	for l in "${lines[@]}"; do
		[ "$l" = "$1" ] && return 0
	done
	fail "no line '$1' in:"$'\n'"$output"
}

@test "used kernel: sites grouped by module, the kernel's own as (kernel)" {
	kused before
	pt_ok
	[ "${lines[0]}" = " kernel $KD/before/allocinfo (allocinfo 1.0), 5 modules, 11 sites holding memory" ]
	[ "${lines[1]}" = " Sorting by Module" ]
	[ "$(kmodules)" = "(kernel) [loop] [sey] [tidy] [xfs]" ]
	[ "$(krow '(kernel)')" = "(kernel) 326 1327744 5" ]
	[ "$(krow '[sey]')" = "[sey] 6 8448 2" ]
	[ "$(krow '[tidy]')" = "[tidy] 1 2048 1" ]
	[ "$(krow '[xfs]')" = "[xfs] 2 56 2" ]
	[ "$(krow TOTAL)" = "TOTAL 336 1342392 11" ]
}

@test "used kernel PATTERN --sites: a module's sites, most bytes first" {
	kused after --sites 'se?'
	pt_ok
	[ "$(kmodules)" = "[sey]" ]
	[ "$(krow '[sey]')" = "[sey] 39 107328 2" ]
	has_line "                                  26         106496        drivers/misc/sey/sey_main.c:120 func:sey_open"
	has_line "                                  13            832        drivers/misc/sey/procpath.c:29 func:get_process_image_path"
	[ "$(krow TOTAL)" = "TOTAL 39 107328 2" ]
	# the idle site (sey_release, 0 0) is not listed
	[[ $output != *sey_release* ]]
	kused after '(kernel)'
	pt_ok
	[ "$(kmodules)" = "(kernel)" ]
	kused after 'nomatch*'
	pt_ok
	[ "$(kmodules)" = "" ]
	[ "$(krow TOTAL)" = "TOTAL 0 0 0" ]
}

@test "used kernel: sort keys, WinDbg's flag 2, reverse and top" {
	kused after -s bytes
	pt_ok
	[ "${lines[1]}" = " Sorting by Bytes" ]
	[ "$(kmodules)" = "(kernel) [sey] [loop] [tidy] [xfs]" ]
	kused after 2
	pt_ok
	[ "$(kmodules)" = "(kernel) [sey] [loop] [tidy] [xfs]" ]
	kused after -s count -r
	pt_ok
	[ "$(kmodules)" = "[tidy] [loop] [xfs] [sey] (kernel)" ]
	kused after -s diff -t 2
	pt_ok
	[ "$(kmodules)" = "(kernel) [sey]" ]
	has_line " ... 3 more modules not shown (-t 2)"
	[ "$(krow TOTAL)" = "TOTAL 370 1445368 11" ]
	kused after -s paged
	assert_usage_error "never paged"
}

@test "used kernel --json and --csv carry the same numbers" {
	kused after --json --sites
	pt_ok
	json_eq 'd["format"]' pooltag-kernel-used
	json_eq 'd["allocinfo_version"]' 1.0
	json_eq '[m["module"] for m in d["modules"]]' "['', 'loop', 'sey', 'tidy', 'xfs']"
	json_eq '[(m["allocs"], m["bytes"], m["loaded"]) for m in d["modules"] if m["module"] == "sey"]' "[(39, 107328, True)]"
	json_eq '[(s["line"], s["function"], s["allocs"], s["bytes"]) for m in d["modules"] if m["module"] == "sey" for s in m["sites"]]' \
		"[(120, 'sey_open', 26, 106496), (29, 'get_process_image_path', 13, 832)]"
	json_eq '(d["total"]["allocs"], d["total"]["bytes"])' "(370, 1445368)"
	kused after --csv
	pt_ok
	[ "${lines[0]}" = "module,file,line,function,allocs,bytes,accurate" ]
	has_line '"sey","",0,"",39,107328,yes'
	has_line '"","",0,"",327,1331840,yes'
	kused after --csv --sites 'sey'
	pt_ok
	[ "${#lines[@]}" -eq 3 ]
	[ "${lines[1]}" = '"sey","drivers/misc/sey/sey_main.c",120,"sey_open",26,106496,yes' ]
	[ "${lines[2]}" = '"sey","drivers/misc/sey/procpath.c",29,"get_process_image_path",13,832,yes' ]
}

@test "format 2.0: accurate:no marks a site and its module" {
	printf 'allocinfo - version: 2.0\n#     <size>  <calls> <tag info>\n       49152       48 arch/x86/kernel/cpu/mce/core.c:2709 func:mce_device_create accurate:no \n       32768        1 arch/x86/kernel/cpu/mce/genpool.c:132 func:mce_gen_pool_create \n' >"$PT_TMP/v2.txt"
	ptrun used --sites "$PT_TMP/v2.txt"
	pt_ok
	[ "$(krow '(kernel)')" = "(kernel) 49 81920 2 *" ]
	has_line "                                  48          49152        arch/x86/kernel/cpu/mce/core.c:2709 func:mce_device_create *"
	has_line " * 1 site marked inaccurate by the kernel (accurate:no, or a count read below zero): the true counts may be higher"
}

@test "a saved copy of /proc/allocinfo is a dump; snap kernel saves the modules too" {
	ptrun used "$KD/before/allocinfo"
	pt_ok
	[ "${lines[0]}" = " kernel $KD/before/allocinfo (allocinfo 1.0), 5 modules, 11 sites holding memory" ]
	[ "$(krow TOTAL)" = "TOTAL 336 1342392 11" ]
	ksnap before "$PT_TMP/before.ks"
	[ "$(head -1 "$PT_TMP/before.ks")" = "pooltag-kernel-snapshot 1" ]
	grep -qx 'module sey' "$PT_TMP/before.ks"
	ptrun used "$PT_TMP/before.ks"
	pt_ok
	[ "$(krow TOTAL)" = "TOTAL 336 1342392 11" ]
	ptrun used --json "$PT_TMP/before.ks"
	json_eq '[m["loaded"] for m in d["modules"]]' "[True, True, True, True, True]"
	# A file named kernel is read as a file when named as one.
	cp "$KD/after/allocinfo" "$PT_TMP/kernel"
	cd "$PT_TMP"
	ptrun used ./kernel
	pt_ok
	[ "$(krow TOTAL)" = "TOTAL 370 1445368 11" ]
}

@test "diff of two kernel snapshots: the leaking module's two sites first" {
	ksnap before "$PT_TMP/before.ks"
	ksnap after "$PT_TMP/after.ks"
	ptrun diff "$PT_TMP/before.ks" "$PT_TMP/after.ks"
	pt_ok
	[[ ${lines[0]} == " Comparing OLD: kernel $KD/before/allocinfo (allocinfo 1.0) with NEW: kernel $KD/after/allocinfo (allocinfo 1.0), "*" s apart" ]]
	[ "${lines[1]}" = " Leak suspects: outstanding count and bytes grew" ]
	[ "$(echo ${lines[3]})" = "[sey] +24 +98304 26 106496 drivers/misc/sey/sey_main.c:120 func:sey_open" ]
	[ "$(echo ${lines[4]})" = "(kernel) +2 +8192 54 221184 kernel/fork.c:311 func:alloc_thread_stack_node" ]
	[ "$(echo ${lines[5]})" = "[sey] +9 +576 13 832 drivers/misc/sey/procpath.c:29 func:get_process_image_path" ]
	[ "${lines[6]}" = " Other changes:" ]
	[ "$(echo ${lines[8]})" = "(kernel) -1 -4096 255 1044480 mm/slub.c:2440 func:alloc_slab_page" ]
	[ "${#lines[@]}" -eq 9 ]
	# the clean module is not named
	[[ $output != *tidy* ]]
}

@test "diff: a module unloaded while sites carrying its name still hold memory" {
	ksnap after "$PT_TMP/after.ks"
	ksnap unloaded "$PT_TMP/unloaded.ks"
	ptrun diff "$PT_TMP/after.ks" "$PT_TMP/unloaded.ks"
	pt_ok
	has_line " Modules unloaded between OLD and NEW:"
	has_line " [sey] is not loaded in NEW, yet 2 sites carrying its name still hold 39 allocations, 107328 bytes: left behind at unload"
	has_line "         13            832   drivers/misc/sey/procpath.c:29 func:get_process_image_path"
	has_line "         26         106496   drivers/misc/sey/sey_main.c:120 func:sey_open"
	has_line " [tidy] is not loaded in NEW, and the sites carrying its name hold nothing: clean"
	[ "$(echo ${lines[3]})" = "[tidy] -1 -2048 0 0 drivers/misc/tidy/tidy.c:40 func:tidy_probe" ]
	[[ $output != *Note:* ]]
}

@test "diff: a module gone from the file, with what its sites held before" {
	ksnap after "$PT_TMP/after.ks"
	ksnap removed "$PT_TMP/removed.ks"
	ptrun diff "$PT_TMP/after.ks" "$PT_TMP/removed.ks"
	pt_ok
	has_line " No site changed."
	has_line " [sey] is gone from NEW; in OLD 2 of its sites held 39 allocations, 107328 bytes:"
	has_line "   NEW cannot say whether they were freed (the kernel stops listing an unloaded module's sites); the kernel log names each site still holding memory at unload: dmesg | grep 'module sey .* allocated at module unload'"
	has_line " [tidy] is gone from NEW; in OLD 1 of its sites held 1 allocation, 2048 bytes:"
	# Saved copies have no module list: the same finding from the sites
	# alone, with a note on what they cannot show.
	ptrun diff "$KD/after/allocinfo" "$KD/removed/allocinfo"
	pt_ok
	has_line " [sey] is gone from NEW; in OLD 2 of its sites held 39 allocations, 107328 bytes:"
	[[ ${lines[-1]} == " Note: neither read lists the loaded modules (a saved copy of allocinfo has no list): "* ]]
	ptrun diff "$KD/after/allocinfo" "$KD/unloaded/allocinfo"
	pt_ok
	[[ $output != *"left behind"* ]]
}

@test "diff: the kernel against a process is refused" {
	ptrun diff "$KD/after/allocinfo" "$PT_SRC/tests/data/seed-after.txt"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
	[ "${stderr_lines[-1]}" = "pooltag: $KD/after/allocinfo is the kernel and $PT_SRC/tests/data/seed-after.txt is not: nothing to compare" ]
}

@test "no allocation profiling: missing, switched off, unreadable; status 1, nothing on stdout" {
	POOLTAG_PROC="$PT_TMP/noproc" ptrun used kernel
	assert_error "kernel: $PT_TMP/noproc/allocinfo does not exist: this kernel does not offer memory allocation profiling \(it needs Linux 6.10 or later built with CONFIG_MEM_ALLOC_PROFILING"
	kused disabled
	assert_error "memory allocation profiling is switched off .* enable it with 'sysctl vm.mem_profiling=1' as root, or boot with sysctl.vm.mem_profiling=1"
	POOLTAG_PROC="$KD/disabled" ptrun snap kernel -o "$PT_TMP/x.ks"
	assert_error "switched off"
	[ ! -e "$PT_TMP/x.ks" ]
	POOLTAG_PROC="$KD/disabled" ptrun diff kernel "$KD/after/allocinfo"
	assert_error "switched off"
	mkdir -p "$PT_TMP/locked"
	cp "$KD/after/allocinfo" "$PT_TMP/locked/allocinfo"
	chmod 0400 "$PT_TMP/locked/allocinfo"
	if [ "$(id -u)" -eq 0 ]; then
		need_nobody
		chmod 0755 "$PT_TMP"
		run --separate-stderr env POOLTAG_PROC="$PT_TMP/locked" "${NOBODY[@]}" "$PT" used kernel
	else
		POOLTAG_PROC="$PT_TMP/locked" ptrun used kernel
	fi
	assert_error "kernel: cannot read $PT_TMP/locked/allocinfo: Permission denied: the kernel lets only root read it"
}

@test "unknown versions, truncated and hostile files are refused with file and line" {
	ptrun used "$KD/version-9.txt"
	assert_error "version-9.txt:1: allocinfo format version '9.0': this pooltag reads 1.0 and 2.0$"
	ptrun used "$KD/truncated.txt"
	assert_error "truncated.txt:8: the file ends inside a line: cut short\?$"
	ptrun used "$KD/hostile-control.txt"
	assert_error "hostile-control.txt:3: control byte 0x1b in the line$"
	ptrun used "$KD/hostile-overflow.txt"
	assert_error "hostile-overflow.txt:3: size '184467440737095516150' is not a number of bytes$"
	ptrun used "$KD/hostile-brackets.txt"
	assert_error "hostile-brackets.txt:3: '\[ev\]il\]' is not a module name in brackets$"
	ptrun diff "$KD/before/allocinfo" "$KD/truncated.txt"
	assert_error "truncated.txt:8:"
	mkdir -p "$PT_TMP/p"
	cp "$KD/version-9.txt" "$PT_TMP/p/allocinfo"
	POOLTAG_PROC="$PT_TMP/p" ptrun used kernel
	assert_error "$PT_TMP/p/allocinfo:1: allocinfo format version '9.0'"
}

@test "used --suspects on the kernel points at diff" {
	kused after --suspects
	assert_error "the kernel counts what is outstanding only: compare two reads with 'pooltag diff'"
}

# The real file, where this kernel offers it.
need_real_allocinfo() {
	[ -e /proc/allocinfo ] || skip "kernel: this kernel has no /proc/allocinfo (not built with CONFIG_MEM_ALLOC_PROFILING)"
	[ -r /proc/allocinfo ] || skip "kernel: /proc/allocinfo is not readable by uid $(id -u) (root only)"
	if [ -r /proc/sys/vm/mem_profiling ] && [ "$(cat /proc/sys/vm/mem_profiling)" = 0 ]; then
		skip "kernel: memory allocation profiling is switched off (vm.mem_profiling=0)"
	fi
	return 0
}

@test "real /proc/allocinfo: used kernel agrees with the file's own sums" {
	need_real_allocinfo
	unset POOLTAG_PROC
	cp /proc/allocinfo "$PT_TMP/copy"
	ptrun used --csv "$PT_TMP/copy"
	pt_ok
	local want got
	want=$(awk 'NR > 2 && $1 > 0 { b += $1 } NR > 2 && $2 > 0 { c += $2 } END { printf "%d %d", c, b }' "$PT_TMP/copy")
	got=$(awk -F, 'NR > 1 { c += $(NF-2); b += $(NF-1) } END { printf "%d %d", c, b }' <<<"$output")
	[ "$got" = "$want" ] || fail "csv sums '$got', file sums '$want'"
	ptrun used -s bytes -t 5 kernel
	pt_ok
	[[ ${lines[0]} == " kernel /proc/allocinfo (allocinfo "* ]]
	ptrun snap kernel -o "$PT_TMP/k1"
	pt_ok
	ptrun diff "$PT_TMP/k1" kernel
	pt_ok
	[[ ${lines[0]} == " Comparing OLD: kernel /proc/allocinfo"* ]]
}

@test "exporter --kernel: per module gauges, per site with --sites; refused when the kernel cannot be read" {
	POOLTAG_PROC="$KD/after" ptrun exporter --once --kernel
	pt_ok
	has_line 'pooltag_kernel_outstanding_allocations{module="sey"} 39'
	has_line 'pooltag_kernel_outstanding_bytes{module="sey"} 107328'
	has_line 'pooltag_kernel_outstanding_bytes{module="(kernel)"} 1331840'
	has_line 'pooltag_kernel_outstanding_bytes{module="tidy"} 2048'
	has_line '# TYPE pooltag_kernel_outstanding_bytes gauge'
	has_line 'pooltag_scrape_series 10'
	[[ $output != *pooltag_kernel_site_* ]]
	POOLTAG_PROC="$KD/after" ptrun exporter --once --kernel --sites
	pt_ok
	has_line 'pooltag_kernel_site_outstanding_bytes{module="sey",file="drivers/misc/sey/sey_main.c",line="120",function="sey_open"} 106496'
	has_line 'pooltag_kernel_site_outstanding_allocations{module="sey",file="drivers/misc/sey/procpath.c",line="29",function="get_process_image_path"} 13'
	# sites holding nothing have no series
	[[ $output != *sey_release* ]]
	has_line 'pooltag_scrape_series 32'
	POOLTAG_PROC="$KD/after" ptrun exporter --once --kernel --sites --max-series 12
	pt_ok
	has_line 'pooltag_scrape_series 12'
	has_line 'pooltag_scrape_skipped_series 20'
	POOLTAG_PROC="$KD/disabled" ptrun exporter --once --kernel
	assert_error "^pooltag: exporter: kernel: memory allocation profiling is switched off"
	POOLTAG_PROC="$PT_TMP/noproc" ptrun exporter --once --kernel
	assert_error "does not exist"
}

@test "record kernel: a recording of the kernel, trend and plot name its modules" {
	POOLTAG_PROC="$KD/before" ptrun record kernel -o "$PT_TMP/k.rec" --duration 0
	pt_ok
	[ "${lines[0]}" = "recording the kernel ($KD/before/allocinfo) to $PT_TMP/k.rec every 1 s for 0 s" ]
	[ "${lines[1]}" = "recorded 1 samples of the kernel" ]
	[ "$(sed -n 2p "$PT_TMP/k.rec")" = "kernel 1.0 $KD/before/allocinfo" ]
	ptrun trend "$PT_TMP/k.rec"
	pt_ok
	[ "${lines[0]}" = " kernel $KD/before/allocinfo (allocinfo 1.0): 1 samples over 0.0 s, one every 1.00 s" ]
	has_line " No leak: no module grew steadily."
	# A recording of sey growing for 3 s (written by hand, the format is text).
	ptrun trend "$KD/sey.rec"
	pt_ok
	has_line " [sey] NonPaged: +11.0 objects/s (+32.2 KiB/s) over 3.0 s"
	has_line "   outstanding 6 -> 39 (8448 -> 107328 bytes), fit R2 1.000"
	has_line " 2 other modules not leaking ('pooltag trend --all' lists them)"
	ptrun trend --sites --json "$KD/sey.rec"
	pt_ok
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["kernel"] == "1.0", d
leaks = [(s["tag"], s["line"], s["count_end"]) for s in d["series"] if s["leak"]]
assert leaks == [("[sey]", 120, 26), ("[sey]", 29, 13)], leaks
# A site names its function as used does, and by the former name too.
fn = [(s["function"], s["func"]) for s in d["series"] if s["leak"]]
assert fn == [("sey_open", "sey_open"), ("get_process_image_path",) * 2], fn' "$output"
	ptrun plot "$KD/sey.rec" -o "$PT_TMP/k.svg"
	pt_ok
	grep -q '<title>the kernel: outstanding allocations of the top modules' "$PT_TMP/k.svg"
	grep -q '>\[sey\] NonPaged: leak: +11.0 objects/s' "$PT_TMP/k.svg"
	POOLTAG_PROC="$KD/disabled" ptrun record kernel -o "$PT_TMP/k2.rec" --duration 0
	assert_error "switched off"
	[ ! -e "$PT_TMP/k2.rec" ]
}

@test "mon kernel: plain tables with modules in the tags' place, a module pattern" {
	POOLTAG_PROC="$KD/after" ptrun mon -n 2 -i 0.05 -s bytes kernel
	pt_ok
	[[ ${lines[0]} == " kernel $KD/after/allocinfo (allocinfo 1.0)  "*"  every 0.05s  sort bytes" ]]
	[[ ${lines[1]} == " Module "* ]]
	[ "$(echo ${lines[2]} | cut -d' ' -f1-9)" = "(kernel) Nonp 327 0 0 0 327 1331840 0" ]
	[ "$(echo ${lines[3]} | cut -d' ' -f1-9)" = "[sey] Nonp 39 0 0 0 39 107328 0" ]
	[ "$(grep -c '^ Module ' <<<"$output")" -eq 2 ]
	# The TOTAL rows fill the module column: their numbers stand under the
	# rows' numbers.
	row=' %-20s %-5s %10s %8s %10s %8s %9s %12s %10s'
	[[ ${lines[2]} == "$(printf "$row" '(kernel)' Nonp 327 0 0 0 327 1331840 0) "* ]] ||
		fail "row: '${lines[2]}'"
	[ "${lines[7]}" = "$(printf "$row" TOTAL Nonp 370 0 0 0 370 1445368 0)" ] ||
		fail "total: '${lines[7]}'"
	[ "${lines[8]}" = "$(printf "$row" TOTAL Paged 0 0 0 0 0 0 0)" ] || fail "total: '${lines[8]}'"
	POOLTAG_PROC="$KD/after" ptrun mon -n 1 'se*' kernel
	pt_ok
	[ "$(grep -c '^ \[' <<<"$output")" -eq 1 ]
	[[ ${lines[2]} == " [sey] "* ]]
	POOLTAG_PROC="$KD/disabled" ptrun mon -n 1 kernel
	assert_error "switched off"
}
