#!/bin/sh
# Runs every go test -fuzz target of goqmail for a short time (FUZZTIME,
# default 3s each): part of `make test`. Longer campaigns: `make fuzz
# FUZZTIME=10m`. Seeds and any crasher found stay in testdata/fuzz/.
#
# A run that fails without writing a crasher into testdata/fuzz is the Go
# fuzzer's own hiccup when the time runs out while it minimises an input
# ("context deadline exceeded", seen on a loaded machine): it is run once
# more, and fails the build only if it fails again. A crasher always fails.
set -eu
FUZZTIME=${FUZZTIME:-3s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
grep -rl --include='*_test.go' '^func Fuzz' internal | while read -r file; do
	dir=$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz $dir $target ($FUZZTIME)"
		for attempt in 1 2; do
			before=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
			if go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "./$dir" >"$out" 2>&1; then
				break
			fi
			after=$(ls "$dir/testdata/fuzz/$target" 2>/dev/null | wc -l)
			if [ "$after" -gt "$before" ] || [ "$attempt" = 2 ]; then
				cat "$out"
				echo "fuzz $dir $target FAILED"
				exit 1
			fi
			echo "fuzz $dir $target: failed without a crasher (fuzzer hiccup?); once more:"
			sed -n '1,5p' "$out"
		done
	done
done
