#!/usr/bin/env bats
# The CLI's folders are layered: each sees its own headers and those of the
# folders its CLI_SEES_ line in the Makefile names, and the lines form no
# cycle.  tests/clidirs.sh checks the source against them; the tests after
# the first show it notices each kind of breach, on a copy of cli/ and the
# Makefile.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

clidirs() {
	run sh "$PT_SRC/tests/clidirs.sh" "$@"
}

# A copy of cli/ and the Makefile in $PT_TMP/tree, to break.
copy_tree() {
	mkdir -p "$PT_TMP/tree"
	cp -R "$PT_SRC/cli" "$PT_SRC/Makefile" "$PT_TMP/tree/"
}

# Adds the line $2 after the first #include "..." of file $1 of the copy.
add_include() {
	local f=$PT_TMP/tree/$1
	sed -i "0,/^#include \"/s|^#include \"|$2\n&|" "$f"
	grep -qF "$2" "$f" || fail "the edit of $1 did nothing"
}

@test "clidirs: every include in cli/ keeps to the folders its folder may use" {
	clidirs
	[ "$status" -eq 0 ] || fail "$output"
	[[ "$output" =~ ^([0-9]+)\ folders,\ ([0-9]+)\ files,\ ([0-9]+)\ includes\ of\ other\ folders$ ]] ||
		fail "$output"
	[ "${BASH_REMATCH[1]}" -ge 5 ] && [ "${BASH_REMATCH[2]}" -gt 50 ] &&
		[ "${BASH_REMATCH[3]}" -gt 20 ] || fail "too few: $output"
}

@test "clidirs: a header of a folder above is a breach" {
	copy_tree
	add_include cli/formats/view.c '#include "cmd.h"'
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[ "$output" = "cli/formats/view.c: includes cmd.h of cli/cmd/, which formats/ may not use (CLI_SEES_formats: nothing)" ] ||
		fail "$output"
}

@test "clidirs: a header of a folder beside, not named, is a breach; from a header too" {
	copy_tree
	add_include cli/mon/mon.h '#include "expo.h"'
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == "cli/mon/mon.h: includes expo.h of cli/exporter/, which mon/ may not use (CLI_SEES_mon: model formats)" ]] ||
		fail "$output"
}

@test "clidirs: folders that see each other are a cycle, even when every include keeps to the lines" {
	copy_tree
	sed -i 's/^\(CLI_SEES_formats[[:space:]]*:=\).*/\1 model/' "$PT_TMP/tree/Makefile"
	grep -q '^CLI_SEES_formats[[:space:]]*:= model$' "$PT_TMP/tree/Makefile" || fail "the edit did nothing"
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" =~ ^a\ cycle\ among\ the\ folders:\ (formats\ model|model\ formats)$ ]] || fail "$output"
	# Through a third folder as well.
	sed -i 's/^\(CLI_SEES_formats[[:space:]]*:=\).*/\1 cmd/' "$PT_TMP/tree/Makefile"
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == "a cycle among the folders: "*cmd* ]] || fail "$output"
}

@test "clidirs: a file outside the folders, a folder without a line, a line without a folder" {
	copy_tree
	touch "$PT_TMP/tree/cli/loose.c"
	mkdir "$PT_TMP/tree/cli/extra"
	sed -i 's/^\(CLI_SEES_cmd[[:space:]]*:=.*\)$/\1 gone/' "$PT_TMP/tree/Makefile"
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == *"cli/loose.c: not in a folder"* ]] || fail "$output"
	[[ "$output" == *"cli/extra: a folder with no CLI_SEES_extra line in the Makefile"* ]] || fail "$output"
	[[ "$output" == *"CLI_SEES_cmd: no folder cli/gone"* ]] || fail "$output"
}

@test "clidirs: a header name in two folders, an include by a path" {
	copy_tree
	cp "$PT_TMP/tree/cli/formats/view.h" "$PT_TMP/tree/cli/mon/view.h"
	add_include cli/cmd/main.c '#include "../model/tally.h"'
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == *"a header name in more than one folder: view.h: formats mon"* ]] || fail "$output"
	[[ "$output" == *'cli/cmd/main.c: includes "../model/tally.h" by a path: CLI headers by name alone'* ]] ||
		fail "$output"
}

@test "clidirs: a tree without CLI_SEES_ lines is an error, not a pass" {
	copy_tree
	sed -i '/^CLI_SEES_/d' "$PT_TMP/tree/Makefile"
	clidirs "$PT_TMP/tree"
	[ "$status" -eq 2 ] || fail "status $status: $output"
	[[ "$output" == *"no CLI_SEES_ line"* ]] || fail "$output"
}
