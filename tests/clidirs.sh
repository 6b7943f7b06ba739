#!/bin/sh
# clidirs.sh [ROOT] - do the CLI's folders keep to their layering?
#
# The Makefile names what each folder of ROOT/cli (default: the tree this
# script is in) may include from, one line per folder:
#
#	CLI_SEES_model    := formats
#
# and compiles each folder with those folders' -I paths alone.  This checks
# the source against the same lines, so that a layering broken by hand (a
# new -I, a header moved) is caught without a compiler:
#  - every file of cli/ is in a folder, and every folder has its line;
#  - a line names only folders that exist;
#  - the lines form no cycle (tsort), so no two folders depend on each
#    other, even through others;
#  - every #include "NAME" in a folder's files names a header of its own
#    folder, of a folder its line names, or of no folder of cli/ (src/,
#    include/, the system);
#  - a CLI header's name is in one folder only, and is included by that
#    name alone (no path), so that which header a name means never depends
#    on the order of -I paths.
# Prints one line per breach and exits 1; with none, prints "N folders,
# N files, N includes of other folders" and exits 0; 2 on a usage error.
set -u

root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
mk=$root/Makefile
if [ $# -gt 1 ] || [ ! -r "$mk" ] || [ ! -d "$root/cli" ]; then
	echo "usage: $0 [ROOT]  (ROOT holding Makefile and cli/)" >&2
	exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "DIR SEEN..." per folder declared.
sed -n 's/^CLI_SEES_\([A-Za-z0-9_]*\)[[:space:]]*:=[[:space:]]*\(.*\)$/\1 \2/p' "$mk" >"$tmp/sees"
if [ ! -s "$tmp/sees" ]; then
	echo "$0: no CLI_SEES_ line in $mk" >&2
	exit 2
fi
bad=0
breach() {
	echo "$*"
	bad=1
}
sees() { # the folders DIR may include from, blank-separated
	awk -v d="$1" '$1 == d { for (i = 2; i <= NF; i++) printf "%s%s", (i > 2 ? " " : ""), $i }' \
		"$tmp/sees"
}

ndirs=0
for f in "$root"/cli/*; do
	n=${f##*/}
	if [ ! -d "$f" ]; then
		breach "cli/$n: not in a folder"
	elif ! awk -v d="$n" '$1 == d { found = 1 } END { exit !found }' "$tmp/sees"; then
		breach "cli/$n: a folder with no CLI_SEES_$n line in the Makefile"
	else
		ndirs=$((ndirs + 1))
	fi
done
while read -r d seen; do
	[ -d "$root/cli/$d" ] || breach "CLI_SEES_$d: no folder cli/$d"
	for s in $seen; do
		[ -d "$root/cli/$s" ] || breach "CLI_SEES_$d: no folder cli/$s"
		[ "$s" != "$d" ] || breach "CLI_SEES_$d: names its own folder"
	done
done <"$tmp/sees"

# Cycles: tsort names the folders of each loop it breaks.
awk '{ print $1, $1; for (i = 2; i <= NF; i++) print $1, $i }' "$tmp/sees" |
	tsort >/dev/null 2>"$tmp/tsort"
loop=$(sed -n 's/^tsort: \([^ :]*\)$/\1/p' "$tmp/tsort" | tr '\n' ' ' | sed 's/ $//')
[ ! -s "$tmp/tsort" ] || breach "a cycle among the folders: ${loop:-$(cat "$tmp/tsort")}"

# Which folder each CLI header is in.
for h in "$root"/cli/*/*.h; do
	[ -e "$h" ] || continue
	d=${h%/*}
	echo "${h##*/} ${d##*/}"
done | sort >"$tmp/headers"
awk '{ n[$1]++; d[$1] = d[$1] " " $2 } END { for (h in n) if (n[h] > 1) print h ":" d[h] }' \
	"$tmp/headers" | while read -r line; do
	echo "a header name in more than one folder: $line"
done >"$tmp/dups"
[ ! -s "$tmp/dups" ] || breach "$(cat "$tmp/dups")"

nfiles=0 nedges=0
for f in "$root"/cli/*/*.[ch]; do
	[ -e "$f" ] || continue
	d=${f%/*}
	d=${d##*/}
	rel=cli/$d/${f##*/}
	nfiles=$((nfiles + 1))
	seen_by=$(sees "$d")
	seen=" $seen_by "
	sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" >"$tmp/incs"
	while read -r inc; do
		case $inc in
		*/*)
			breach "$rel: includes \"$inc\" by a path: CLI headers by name alone"
			continue
			;;
		esac
		hd=$(awk -v h="$inc" '$1 == h { print $2; exit }' "$tmp/headers")
		if [ -z "$hd" ] || [ "$hd" = "$d" ]; then
			continue
		fi
		nedges=$((nedges + 1))
		case $seen in
		*" $hd "*) ;;
		*) breach "$rel: includes $inc of cli/$hd/, which $d/ may not use (CLI_SEES_$d: ${seen_by:-nothing})" ;;
		esac
	done <"$tmp/incs"
done

[ "$bad" -eq 0 ] || exit 1
echo "$ndirs folders, $nfiles files, $nedges includes of other folders"
