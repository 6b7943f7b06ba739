#!/bin/sh
# Systematic fault injection speed: runs per second of `pooltag faults` on
# the seed's driver (host + libsey.so, one process: 185 acquisitions, so 186
# runs), with the fork server against exec per run (--no-server), alternated,
# median of ROUNDS rounds each.  Target: >= 500 runs/s with the fork server.
B=${1:-build}
ROUNDS=${ROUNDS:-5}
PT="$B/pooltag"
HOST="$B/examples/seed/host"
DRV="$B/examples/seed/libsey.so"

rate() { # options...: the runs/s of one pooltag faults run
	"$PT" faults "$@" -- "$HOST" "$DRV" 1 | sed -n '1s/.*(\([0-9]*\) runs\/s).*/\1/p'
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

s="" e=""
i=0
while [ $i -lt "$ROUNDS" ]; do
	s="$s $(rate)"
	e="$e $(rate --no-server)"
	i=$((i + 1))
done
ms=$(echo $s | tr ' ' '\n' | median)
me=$(echo $e | tr ' ' '\n' | median)
echo "faults: seed driver, 186 runs, median of $ROUNDS (2 jobs):"
echo "  fork server   $ms runs/s   (rounds:$s)"
echo "  exec per run  $me runs/s   (rounds:$e)"
awk -v a="$ms" -v b="$me" 'BEGIN { v = "NOT met"; if (a >= 500) v = "met"; printf "  fork server / exec: %.2fx; target >= 500 runs/s: %s\n", a / b, v }'
