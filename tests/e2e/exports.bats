#!/usr/bin/env bats
# The library's edges: libpooltag.so exports what include/pooltag.h declares
# with PT_API, and nothing else; each of those names is in pooltag(3).
# tests/exports.sh makes the comparison; the tests after the first show it
# notices each kind of difference, on copies of the header and the manual.
# The interposer reaches the library through src/runlib.h alone; the
# library sees nothing of common/ (what the interposer and the CLI share).

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

exports() {
	run sh "$PT_SRC/tests/exports.sh" "$@"
}

@test "exports: libpooltag.so exports the PT_API declarations of pooltag.h, no more, all in pooltag(3)" {
	exports "$PT_BUILD/libpooltag.so" "$PT_SRC/include/pooltag.h" "$PT_SRC/man/pooltag.3"
	[ "$status" -eq 0 ] || fail "$output"
	# The inline fast paths' internals are exported too, and declared.
	[[ "$output" =~ ^([0-9]+)\ exported,\ ([0-9]+)\ declared$ ]] || fail "$output"
	[ "${BASH_REMATCH[1]}" -gt 40 ] || fail "too few: $output"
}

@test "exports: a symbol exported but not declared is a difference" {
	# pt_tag_make's declaration loses its PT_API: the library still exports it.
	sed 's/^PT_API uint32_t pt_tag_make(/uint32_t pt_tag_make(/' "$PT_SRC/include/pooltag.h" \
		>"$PT_TMP/pooltag.h"
	! cmp -s "$PT_SRC/include/pooltag.h" "$PT_TMP/pooltag.h" || fail "the edit did nothing"
	exports "$PT_BUILD/libpooltag.so" "$PT_TMP/pooltag.h"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == *"exported, not declared: pt_tag_make"* ]] || fail "$output"
}

@test "exports: a declaration the library does not export is a difference" {
	# Declarations as the header writes them: over two lines, an attribute,
	# a pointer to a function.
	cp "$PT_SRC/include/pooltag.h" "$PT_TMP/pooltag.h"
	cat >>"$PT_TMP/pooltag.h" <<-'EOF'
		PT_API void *pt_not_there(struct pt_site *site, enum pt_pool pool,
					  size_t size);
		PT_API extern __thread int pt__not_there_either __attribute__((tls_model("initial-exec")));
		PT_API extern void (*pt_no_hook)(int);
	EOF
	exports "$PT_BUILD/libpooltag.so" "$PT_TMP/pooltag.h"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == *"declared, not exported: pt__not_there_either"* ]] || fail "$output"
	[[ "$output" == *"declared, not exported: pt_no_hook"* ]] || fail "$output"
	[[ "$output" == *"declared, not exported: pt_not_there"* ]] || fail "$output"
	[[ "$output" != *"exported, not declared"* ]] || fail "$output"
}

@test "exports: a declared name pooltag(3) never mentions is a difference" {
	grep -v 'pt_export_path' "$PT_SRC/man/pooltag.3" >"$PT_TMP/pooltag.3"
	exports "$PT_BUILD/libpooltag.so" "$PT_SRC/include/pooltag.h" "$PT_TMP/pooltag.3"
	[ "$status" -eq 1 ] || fail "status $status: $output"
	[[ "$output" == *"not in $PT_TMP/pooltag.3: pt_export_path"* ]] || fail "$output"
}

@test "exports: a header without PT_API declarations is an error, not a pass" {
	sed 's/PT_API //' "$PT_SRC/include/pooltag.h" >"$PT_TMP/pooltag.h"
	exports "$PT_BUILD/libpooltag.so" "$PT_TMP/pooltag.h"
	[ "$status" -eq 2 ] || fail "status $status: $output"
	[[ "$output" == *"no PT_API declaration"* ]] || fail "$output"
}

@test "exports: the interposer includes no library header but runlib.h (and pooltag.h)" {
	local f inc bad=
	for f in "$PT_SRC"/preload/*.[ch]; do
		while read -r inc; do
			# Its own headers, and common/'s (no part of the library).
			[ -e "$PT_SRC/preload/$inc" ] && continue
			[ -e "$PT_SRC/common/$inc" ] && continue
			case $inc in pooltag.h | runlib.h) ;; *) bad="$bad ${f##*/}:$inc" ;; esac
		done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	[ -z "$bad" ] || fail "library headers included by preload/:$bad"
}

@test "exports: the library includes nothing of common/, and its -I paths do not name it" {
	local f inc bad=
	for f in "$PT_SRC"/src/*.[ch]; do
		while read -r inc; do
			[ -e "$PT_SRC/src/$inc" ] && continue
			[ -e "$PT_SRC/common/$inc" ] && bad="$bad ${f##*/}:$inc"
		done < <(sed -n 's/^#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
	done
	[ -z "$bad" ] || fail "common/ headers included by src/:$bad"
	run sed -n 's/^LIB_INC[[:space:]]*:=//p' "$PT_SRC/Makefile"
	[ -n "$output" ] || fail "no LIB_INC line in the Makefile"
	[[ "$output" != *common* ]] || fail "the library's -I paths name common/: $output"
}
