#!/usr/bin/env bats
# Installed and in-tree use: `make install PREFIX=...` into a fresh prefix
# gives a CLI that finds its interposer and tag file under that prefix
# (whatever PREFIX the build was configured with), and a program linked
# against the library, installed or in the build folder, starts.

load helpers

setup() {
	pt_setup
}

teardown() {
	pt_teardown
}

# The build's library carries ASan's runtime (make check-asan): a program
# linked against it must be built the same way.
san_flags() {
	if nm -D "$PT_BUILD/libpooltag.so" 2>/dev/null | grep -q ' U __asan_init'; then
		echo "-fsanitize=address,undefined"
	fi
}

# install_to DIR: the build's files installed under PREFIX=DIR, without
# rebuilding (-o all: whatever the build holds is what is installed).
install_to() {
	run make -s --no-print-directory -C "$PT_SRC" -o all O="$PT_BUILD" PREFIX="$1" install
	[ "$status" -eq 0 ] || fail "make install failed: $output"
	# check-asan tests the interposer of the plain build (POOLTAG_PRELOAD,
	# see the Makefile): that is the one the installed tree must hold.
	if [ -n "${POOLTAG_PRELOAD:-}" ]; then
		cp "$POOLTAG_PRELOAD" "$1/lib/pooltag/libpooltag-preload.so"
	fi
}

@test "install: pooltag run of a fresh PREFIX uses that prefix's interposer and tag file" {
	local up="$PT_BUILD/tests/uprogs/leaky" pre="$PT_TMP/prefix"
	[ -x "$up" ] || fail "no $up: build the tests first (make test)"
	install_to "$pre"
	[ -x "$pre/bin/pooltag" ] && [ -f "$pre/lib/pooltag/libpooltag-preload.so" ]
	[ -f "$pre/share/pooltag/pooltag.txt" ] && [ -f "$pre/lib/libpooltag.so.0" ]
	# Nothing of the build folder may be found: the CLI runs from the prefix.
	unset POOLTAG_PRELOAD
	run --separate-stderr timeout -k 5 300 "$pre/bin/pooltag" run -- "$up"
	[ "$status" -eq 0 ] || fail "status $status: $stderr"
	# The verdict at exit comes from the interposer (its wording: run.bats).
	[[ $stderr =~ pooltag:\ leaky\ \(pid\ [0-9]+\)\ exit ]] || fail "$stderr"
	[[ $stderr == *"[Leak] at leaky.c:"* ]] || fail "$stderr"
	# The interposer is the prefix's: moved away, run says where it looked.
	mv "$pre/lib/pooltag" "$pre/lib/moved"
	run --separate-stderr timeout 60 "$pre/bin/pooltag" run -- "$up"
	assert_error "^pooltag: run: cannot find libpooltag-preload.so \(looked beside pooltag, in \.\./lib/pooltag/ and at "
	# The installed tag file describes a tag of a hand-made snapshot.
	write_snap "$PT_TMP/p.snap" 'site|Proc|nonpaged|5|1|500|100|0||'
	run --separate-stderr timeout 60 "$pre/bin/pooltag" used "$PT_TMP/p.snap"
	pt_ok
	assert_row "Proc" "4 400 0 0" "Process objects , Binary: demohost"
}

@test "install: a program built with pkg-config against the prefix starts and exports" {
	local pre="$PT_TMP/prefix" cc=cc
	command -v pkg-config >/dev/null || fail "no pkg-config (scripts/deps.sh installs pkgconf)"
	install_to "$pre"
	[ -z "$(san_flags)" ] || cc=clang
	cat >"$PT_TMP/p.c" <<'EOF'
#include <stdio.h>
#include <pooltag.h>
int main(void)
{
	void *p = pt_alloc(PT_PAGED, 40, "Inst");
	printf("%s\n", p ? "allocated" : "failed");
	fflush(stdout);
	getchar();
	pt_free(p, "Inst");
	return 0;
}
EOF
	# shellcheck disable=SC2046 # pkg-config's words
	$cc $(san_flags) -o "$PT_TMP/p" "$PT_TMP/p.c" \
		$(PKG_CONFIG_PATH="$pre/lib/pkgconfig" pkg-config --cflags --libs pooltag)
	! readelf -d "$PT_TMP/p" | grep -q 'R.*PATH' || fail "unexpected rpath"
	LD_LIBRARY_PATH="$pre/lib" prog_start p "$PT_TMP/p"
	prog_expect p allocated
	ptrun used "${PROG_PID[p]}"
	pt_ok
	assert_row "Inst" "0 0 1 40"
}

@test "in-tree: a program linked against the build folder's libpooltag.so starts" {
	local cc=cc
	[ -z "$(san_flags)" ] || cc=clang
	[ -L "$PT_BUILD/libpooltag.so.0" ] || fail "no libpooltag.so.0 in $PT_BUILD"
	printf '#include <stdio.h>\n#include <pooltag.h>\nint main(void)\n{\n%s\n}\n' \
		'void *p = pt_alloc(PT_NONPAGED, 24, "Tree"); printf("%d\n", p != NULL); pt_free(p, "Tree"); return 0;' \
		>"$PT_TMP/t.c"
	$cc $(san_flags) -I"$PT_SRC/include" -o "$PT_TMP/t" "$PT_TMP/t.c" -L"$PT_BUILD" -lpooltag -pthread
	readelf -d "$PT_TMP/t" | grep -q 'NEEDED.*\[libpooltag\.so\.0\]'
	run --separate-stderr env LD_LIBRARY_PATH="$PT_BUILD" "$PT_TMP/t"
	pt_ok
	[ "$output" = 1 ]
}
