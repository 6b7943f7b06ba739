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
#   prometheus       a real Prometheus server scraping `pooltag exporter` in the
#                    end-to-end test; installed without recommends, and without
#                    starting its system service (the tests run their own)
#   libncurses-dev   ncurses: the full-screen monitor of the CLI (pooltag mon)
#   tmux             a terminal for the end-to-end tests of pooltag mon
#   sqlite3, git     real programs the tests of pooltag run compare with and without it
#   g++, valgrind    a C++ test program of pooltag run; the leak checkers' comparison (make bench)
# Run as root (CI is); otherwise it only reports what is missing.
# "deps.sh build" checks only what building needs (make all, make demo).
missing=""
have() { command -v "$1" >/dev/null 2>&1; }
have gcc || missing="$missing gcc"
have make || missing="$missing make"
[ -f /usr/include/elfutils/libdwfl.h ] || missing="$missing libdw-dev"
[ -f /usr/include/ncursesw/curses.h ] || missing="$missing libncurses-dev"
if [ "${1:-}" = build ]; then
	:
else
have clang || missing="$missing clang"
have bats || missing="$missing bats"
have python3 || missing="$missing python3"
have pkg-config || missing="$missing pkgconf"
have setpriv || missing="$missing util-linux"
have prometheus || want_prometheus=1
have tmux || missing="$missing tmux"
have sqlite3 || missing="$missing sqlite3"
have git || missing="$missing git"
have g++ || missing="$missing g++"
have valgrind || missing="$missing valgrind"
if have clang; then
	rt=$(clang -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a
	[ -f "$rt" ] || missing="$missing libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev"
fi
fi
[ -z "$missing" ] && [ -z "${want_prometheus:-}" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	[ -z "${want_prometheus:-}" ] || missing="$missing prometheus"
	echo "pooltag: missing packages:$missing (install them, e.g. apt-get install$missing)" >&2
	exit 1
fi
# Another apt run (a parallel build's) may hold the lock for a while.
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"; }
apt_get update -qq || exit 1
if [ -n "$missing" ]; then
	echo "installing:$missing"
	apt_get install -y -qq $missing >/dev/null || exit 1
fi
if [ -n "${want_prometheus:-}" ]; then
	# The package's maintainer scripts would start a system service that
	# listens on port 9090: a policy-rc.d answering 101 ("action
	# forbidden") keeps invoke-rc.d from starting it, where no systemd
	# does that job.  An existing policy file is left as it is.
	echo "installing: prometheus"
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
	fi
	apt_get install -y -qq --no-install-recommends prometheus >/dev/null
	st=$?
	[ -z "$policy" ] || rm -f "$policy"
	[ "$st" -eq 0 ] || exit 1
	# Where systemd runs, the service was started regardless: stop it and
	# keep it from starting at boot.
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl disable --now prometheus >/dev/null 2>&1 || true
	fi
fi
