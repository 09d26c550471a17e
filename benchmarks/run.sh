#!/usr/bin/env bash
# Runs the registry's own benchmarks (the root module) and the peer
# comparison (this module), keeps their raw output in results/*.raw (ignored
# by git) and prints each as benchstat tables with one column per
# implementation.
#
#   bash benchmarks/run.sh                 # -count 6 -cpu 1,2
#   COUNT=10 bash benchmarks/run.sh        # more samples
#   BENCH=CleanupStale bash benchmarks/run.sh   # only the matching benchmarks
#   SMOKE=1 bash benchmarks/run.sh         # each benchmark once: do they run?
#
# Give the machine to the benchmarks: anything else running skews them.
set -euo pipefail
cd "$(dirname "$0")"

flags=(-run '^$' -bench "${BENCH:-.}" -benchmem -cpu 1,2 -timeout 0)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
if [ "${SMOKE:-0}" = 1 ]; then
  flags+=(-benchtime 1x -count 1)
  stamp+=-smoke
else
  flags+=(-count "${COUNT:-6}")
fi

cpu=$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || true)
echo "machine: $(nproc) CPUs, ${cpu:-unknown CPU}"
echo "go:      $(go version)"
echo "date:    $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "flags:   ${flags[*]}"

# benchstat first, so that a missing tool fails the run before the hours of
# benchmarking rather than after.
benchstat=$(command -v benchstat || true)
if [ -z "$benchstat" ]; then
  gobin=$(go env GOBIN)
  if [ -z "$gobin" ]; then
    gopath=$(go env GOPATH)
    gobin=${gopath%%:*}/bin
  fi
  benchstat=$gobin/benchstat
  [ -x "$benchstat" ] || go install golang.org/x/perf/cmd/benchstat@latest
fi

mkdir -p results
root=results/$stamp-root.raw
peers=results/$stamp-peers.raw

echo
echo "== registry benchmarks (root module) -> benchmarks/$root"
(cd .. && go test "${flags[@]}" .) | tee "$root"

echo
echo "== peer comparison (benchmarks module) -> benchmarks/$peers"
go test "${flags[@]}" . | tee "$peers"

echo
echo "== registry: benchstat -col /impl $root"
"$benchstat" -col /impl "$root"
echo
echo "== peers: benchstat -col /impl $peers"
"$benchstat" -col /impl "$peers"
