#!/bin/sh
# exports.sh LIB HEADER [MANPAGE] - is what the shared library exports
# exactly what the public header declares with PT_API?
#
# Prints one line per difference, "exported, not declared: NAME" or
# "declared, not exported: NAME", and with MANPAGE one per declared name
# (pt__ internals of the inline fast paths aside) the manual never
# mentions, "not in MANPAGE: NAME".  Exits 0 when there is none, 1
# otherwise, 2 on a usage error or a header with no PT_API declaration.
#
# The header is read as pooltag.h is written: comments and preprocessor
# lines are skipped; a declaration is the text from a line holding PT_API
# to the next ';'.  Its name is the identifier before its first '(' (a
# function; "(*NAME)" for a pointer to one), else its last identifier (a
# variable), attributes and array bounds left out.  Symbols a sanitizer's
# runtime adds to every library are not the library's own and are ignored.
set -u

if [ $# -lt 2 ] || [ $# -gt 3 ]; then
	echo "usage: $0 LIB HEADER [MANPAGE]" >&2
	exit 2
fi
lib=$1 header=$2 man=${3:-}
for f in "$lib" "$header" $man; do
	[ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

awk '
# Removes comments from line, carrying an open one to the next line.
function uncomment(line,    out, i) {
	out = ""
	while (line != "") {
		if (incomment) {
			i = index(line, "*/")
			if (!i)
				return out
			line = substr(line, i + 2)
			incomment = 0
		} else {
			i = index(line, "/*")
			if (!i)
				return out line
			out = out substr(line, 1, i - 1) " "
			line = substr(line, i + 2)
			incomment = 1
		}
	}
	return out
}
# Removes every __attribute__((...)), nested parentheses included.
function unattribute(s,    i, j, depth, c) {
	while ((i = index(s, "__attribute__")) > 0) {
		j = i + length("__attribute__")
		while (substr(s, j, 1) == " ")
			j++
		depth = 0
		for (; j <= length(s); j++) {
			c = substr(s, j, 1)
			if (c == "(")
				depth++
			else if (c == ")" && --depth == 0)
				break
		}
		s = substr(s, 1, i - 1) " " substr(s, j + 1)
	}
	return s
}
function name_of(s,    i, rest) {
	s = unattribute(s)
	sub(/;.*/, "", s)
	i = index(s, "(")
	if (i) {
		rest = substr(s, i + 1)
		if (match(rest, /^[ \t]*\*[ \t]*[A-Za-z_][A-Za-z0-9_]*/)) {
			rest = substr(rest, RSTART, RLENGTH)
			sub(/^[ \t]*\*[ \t]*/, "", rest)
			return rest
		}
		s = substr(s, 1, i - 1)
	} else {
		gsub(/\[[^]]*\]/, "", s)
	}
	sub(/[ \t]+$/, "", s)
	if (!match(s, /[A-Za-z_][A-Za-z0-9_]*$/))
		return ""
	return substr(s, RSTART, RLENGTH)
}
{
	line = uncomment($0)
	if (inmacro || line ~ /^[ \t]*#/) {
		inmacro = line ~ /\\[ \t]*$/
		next
	}
	if (!decl && line !~ /(^|[^A-Za-z0-9_])PT_API([^A-Za-z0-9_]|$)/)
		next
	decl = decl " " line
	if (index(decl, ";")) {
		n = name_of(decl)
		if (n == "") {
			printf "%s:%d: a PT_API declaration with no name\n", FILENAME, FNR > "/dev/stderr"
			bad = 1
		} else
			print n
		decl = ""
	}
}
END { exit bad ? 2 : 0 }
' "$header" | sort -u >"$tmp/declared" || exit 2
if [ ! -s "$tmp/declared" ]; then
	echo "$0: no PT_API declaration in $header" >&2
	exit 2
fi

nm -D --defined-only "$lib" >"$tmp/nm" || { echo "$0: nm failed on $lib" >&2; exit 2; }
awk '{ sub(/@.*/, "", $NF); print $NF }' "$tmp/nm" |
	grep -Ev '^_*(asan|odr_asan|ubsan|tsan|sancov|lsan)' | sort -u >"$tmp/exported"

status=0
comm -23 "$tmp/exported" "$tmp/declared" | sed 's/^/exported, not declared: /' >"$tmp/diff"
comm -13 "$tmp/exported" "$tmp/declared" | sed 's/^/declared, not exported: /' >>"$tmp/diff"
if [ -n "$man" ]; then
	grep -v '^pt__' "$tmp/declared" | while read -r name; do
		grep -qw -- "$name" "$man" || echo "not in $man: $name"
	done >>"$tmp/diff"
fi
if [ -s "$tmp/diff" ]; then
	cat "$tmp/diff"
	status=1
fi
echo "$(wc -l <"$tmp/exported") exported, $(wc -l <"$tmp/declared") declared"
exit $status
