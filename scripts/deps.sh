#!/bin/sh
# Installs what building and testing pooltag needs, from Debian's archive,
# when it is missing:
#   gcc, make        the build
#   clang, libclang-rt-14-dev   fuzz targets (libFuzzer) and the ASan/UBSan/TSan builds
#   bats             the end-to-end tests of the CLI
#   python3          JSON checks and binary patching in the end-to-end tests
#   pkgconf          checking the installed pooltag.pc
#   util-linux       setpriv, to run the CLI as another user in the tests
#   libdw-dev        elfutils' libdw: symbolising the stacks that took references
#   sqlite3, git     real programs the tests of pooltag run compare with and without it
# Run as root (CI is); otherwise it only reports what is missing.
# "deps.sh build" checks only what building needs (make all, make demo).
missing=""
have() { command -v "$1" >/dev/null 2>&1; }
have gcc || missing="$missing gcc"
have make || missing="$missing make"
[ -f /usr/include/elfutils/libdwfl.h ] || missing="$missing libdw-dev"
if [ "${1:-}" = build ]; then
	:
else
have clang || missing="$missing clang"
have bats || missing="$missing bats"
have python3 || missing="$missing python3"
have pkg-config || missing="$missing pkgconf"
have setpriv || missing="$missing util-linux"
have sqlite3 || missing="$missing sqlite3"
have git || missing="$missing git"
if have clang; then
	rt=$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a
	[ -f "$rt" ] || missing="$missing libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
fi
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "pooltag: missing packages:$missing (install them, e.g. apt-get install$missing)" >&2
	exit 1
fi
echo "installing:$missing"
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
