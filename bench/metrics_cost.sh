#!/usr/bin/env bash
# metrics_cost.sh: what per-query counting costs: QPS of globaldns with metrics on vs off.
#
#   bench/metrics_cost.sh -b BINARY [-n NAMES] [-r ROUNDS] [-l SECONDS] [-t THREADS] [-o OUTDIR]
#
#   -b BINARY   the globaldns binary (required; e.g. build/app/globaldns, a Release build)
#   -n NAMES    names in the data set (default 10000), made by bench/gen_data.py as compare.sh does
#   -r ROUNDS   rounds (default 5); each runs both servers once, the order alternating per round
#               (on then off, off then on), so drift over time falls on both alike
#   -l SECONDS  length of one dnsperf run (default 5)
#   -t THREADS  worker threads of each server (default 2)
#   -o OUTDIR   where everything goes (default /tmp/globaldns-metrics-cost)
#
# Two servers on the same data run side by side, one with --metrics 127.0.0.1:0 (counting, port
# 5370) and one with --metrics off (port 5371); only the one being measured gets load. Each run:
#   dnsperf -s 127.0.0.1 -p PORT -d queries.txt -c 8 -T 2 -q 500 -t 1 -l SECONDS
# Prints QPS and the server's CPU µs/query per run, the median of each side and the ratio
# on/off of the medians. Both servers are stopped by their PIDs on exit, also on Ctrl-C. Bounded:
# about 2 x ROUNDS x (SECONDS + 1) s; one dnsperf run is killed after SECONDS+30 s.
set -euo pipefail

readonly SCRIPT_NAME=metrics_cost.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=scripts/lib.sh
source "$HERE/../scripts/lib.sh"
readonly ADDR=127.0.0.1
readonly -a DNSPERF_FLAGS=(-c 8 -T 2 -q 500 -t 1)
CLK_TCK=$(getconf CLK_TCK)
readonly CLK_TCK

BIN=""
NAMES=10000
ROUNDS=5
DURATION=5
THREADS=2
OUT=/tmp/globaldns-metrics-cost
PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

while getopts "b:n:r:l:t:o:h" opt; do
  case $opt in
    b) BIN=$OPTARG ;;
    n) NAMES=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    l) DURATION=$OPTARG ;;
    t) THREADS=$OPTARG ;;
    o) OUT=$OPTARG ;;
    h)
      usage
      exit 0
      ;;
    *)
      usage >&2
      exit 2
      ;;
  esac
done
[[ -n $BIN && -x $BIN ]] || die "-b BINARY: an executable globaldns is required"
positive_integers "-n, -r, -l and -t" "$NAMES" "$ROUNDS" "$DURATION" "$THREADS"
command -v dnsperf >/dev/null || die "dnsperf not found (scripts/install-deps.sh bench)"

DATA=$OUT/data-n$NAMES
RUN=$OUT/run-$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN"
[[ -f $DATA/queries.txt ]] || python3 "$HERE/gen_data.py" -n "$NAMES" -o "$DATA" >/dev/null

port_of() { if [[ $1 == on ]]; then echo 5370; else echo 5371; fi; }

start() {
  local mode=$1 metrics=off
  [[ $mode == on ]] && metrics=$ADDR:0
  "$BIN" serve --listen "$ADDR:$(port_of "$mode")" --files "$DATA/serviceentries" \
    --threads "$THREADS" --health off --ready off --grpc off --metrics "$metrics" --lameduck-ms 0 \
    >"$RUN/$mode.log" 2>&1 &
  PIDS+=($!)
  echo $! >"$RUN/$mode.pid"
}

cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

start on
start off
for mode in on off; do
  for _ in $(seq 100); do
    dig +short +time=1 +tries=1 @"$ADDR" -p "$(port_of "$mode")" svc0.ns0.global A 2>/dev/null |
      grep -q . && break
    sleep 0.1
  done
  dig +short +time=1 +tries=1 @"$ADDR" -p "$(port_of "$mode")" svc0.ns0.global A | grep -q . ||
    die "the metrics-$mode server does not answer; log: $RUN/$mode.log"
done

printf 'round\tmode\tqps\tus_per_query\n' >"$RUN/results.tsv"
for round in $(seq "$ROUNDS"); do
  order="on off"
  ((round % 2 == 0)) && order="off on"
  for mode in $order; do
    pid=$(cat "$RUN/$mode.pid")
    out=$RUN/dnsperf-$mode-$round.txt
    c0=$(cpu_ticks "$pid")
    timeout --foreground --kill-after=5 $((DURATION + 30)) dnsperf -s "$ADDR" -p "$(port_of "$mode")" \
      -d "$DATA/queries.txt" "${DNSPERF_FLAGS[@]}" -l "$DURATION" >"$out" 2>&1 ||
      die "dnsperf failed: $(tail -1 "$out")"
    c1=$(cpu_ticks "$pid")
    awk -v r="$round" -v m="$mode" -v t=$((c1 - c0)) -v hz="$CLK_TCK" '
      /Queries completed:/ { n = $3 } /Queries per second:/ { q = $4 }
      END { printf "%s\t%s\t%.0f\t%.2f\n", r, m, q, n ? t / hz * 1e6 / n : 0 }' "$out" \
      >>"$RUN/results.tsv"
    tail -1 "$RUN/results.tsv" | awk -F'\t' '{ printf "round %s metrics %-3s %8s qps  %6s us/query (server CPU)\n", $1, $2, $3, $4 }'
  done
done

awk -F'\t' 'NR > 1 { q[$2] = q[$2] " " $3; u[$2] = u[$2] " " $4 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    on = median(q["on"]); off = median(q["off"])
    printf "median qps: metrics on %.0f, off %.0f; ratio on/off %.3f\n", on, off, on / off
    printf "median server CPU us/query: on %.2f, off %.2f\n", median(u["on"]), median(u["off"])
  }' "$RUN/results.tsv" | tee "$RUN/summary.txt"
msg "per-run output in $RUN"
