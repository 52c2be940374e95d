#!/bin/sh
# Runs every go test -fuzz target of goqmail for a short time (FUZZTIME,
# default 3s each): part of `make test`. Longer campaigns: `make fuzz
# FUZZTIME=10m`. Seeds and any crasher found stay in testdata/fuzz/.
set -eu
FUZZTIME=${FUZZTIME:-3s}
grep -rl --include='*_test.go' '^func Fuzz' internal | while read -r file; do
	dir=$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz $dir $target ($FUZZTIME)"
		go test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "./$dir" >/dev/null
	done
done
