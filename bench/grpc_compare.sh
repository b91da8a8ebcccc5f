#!/usr/bin/env bash
# grpc_compare.sh: one globaldns, the same data, queried over UDP (dnsperf) and over gRPC
# (bench/grpc_load, CoreDNS's DnsService) in interleaved rounds: QPS and server CPU per query.
#
#   bench/grpc_compare.sh [-n NAMES] [-r ROUNDS] [-l SECONDS] [-t THREADS]
#                         [-C CHANNELS] [-Q OUTSTANDING] [-b BINARY] [-g GRPC_LOAD] [-o OUTDIR]
#
#   -n NAMES        names in the data set (default 10000), from bench/gen_data.py
#   -r ROUNDS       rounds (default 5); each runs UDP and gRPC once, the order alternating
#   -l SECONDS      length of one run (default 5)
#   -t THREADS      globaldns UDP worker threads (default 2); gRPC uses gRPC's own threads
#   -C CHANNELS     grpc_load channels, one TCP connection each (default 2)
#   -Q OUTSTANDING  grpc_load calls in flight, over all channels (default 64)
#   -b BINARY       globaldns binary; without it, build/ is built Release (as compare.sh does)
#   -g GRPC_LOAD    the load client (default: grpc_load next to BINARY's build tree, bench/)
#   -o OUTDIR       where everything goes (default /tmp/globaldns-bench)
#
# globaldns runs as `serve --listen 127.0.0.1:5380 --grpc 127.0.0.1:5381 --metrics off`. Each run:
#   UDP:  dnsperf -s 127.0.0.1 -p 5380 -d queries.txt -c 8 -T 2 -q 500 -t 1 -l SECONDS
#   gRPC: grpc_load -s 127.0.0.1:5381 -d queries.txt -c CHANNELS -q OUTSTANDING -l SECONDS
# with the server's CPU time (utime+stime from /proc/PID/stat) read before and after. The report
# (OUTDIR/grpc-<stamp>.md) gives the medians of each and the gRPC/UDP ratios.
#
# Reuses compare.sh's functions (data, /proc accounting, dig checks, stop by PID): it reads
# compare.sh without its last line (`main "$@"`) and its own name and location lines.
set -euo pipefail

readonly SCRIPT_NAME=grpc_compare.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=bench/compare.sh
source <(sed -e '/^readonly SCRIPT_NAME=/d' -e '/^HERE=/d' -e '/^readonly HERE$/d' \
  -e '/^main "\$@"$/d' "$HERE/compare.sh")

# Ports of our own, so this runs next to compare.sh (5360-5362 and up).
readonly GRPC_PORT=5381
port_of() { echo 5380; }
NAMES=10000  # compare.sh measures a list of sizes; one size here
ROUNDS=5
DURATION=5
CHANNELS=2
OUTSTANDING=64
GRPC_LOAD=""
SERVERS=globaldns

parse_grpc_args() {
  local opt
  while getopts "n:r:l:t:C:Q:b:g:o:h" opt; do
    case $opt in
      n) NAMES=$OPTARG ;;
      r) ROUNDS=$OPTARG ;;
      l) DURATION=$OPTARG ;;
      t) THREADS=$OPTARG ;;
      C) CHANNELS=$OPTARG ;;
      Q) OUTSTANDING=$OPTARG ;;
      b) GDNS_BIN=$OPTARG ;;
      g) GRPC_LOAD=$OPTARG ;;
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
  positive_integers "-n, -r, -l, -t, -C and -Q" "$NAMES" "$ROUNDS" "$DURATION" "$THREADS" \
    "$CHANNELS" "$OUTSTANDING"
  OUT=$(realpath -m "$OUT")
  [[ -z $GDNS_BIN ]] || GDNS_BIN=$(realpath -m "$GDNS_BIN")
}

start_globaldns_grpc() {
  local dir=$RUN/globaldns
  mkdir -p "$dir"
  "$GDNS_BIN" serve --listen "$ADDR:$(port_of globaldns)" --files "$DATA/serviceentries" \
    --threads "$THREADS" --health off --ready off --grpc "$ADDR:$GRPC_PORT" --metrics off \
    --lameduck-ms 0 >"$dir/out.log" 2>&1 &
  echo $! >"$dir/pid"
  STARTED+=(globaldns)
}

# run_one MODE OUTFILE: one bounded load run over MODE (udp or grpc).
run_one() {
  case $1 in
    udp) dnsperf_run globaldns "$DURATION" "$2" ;;
    grpc)
      timeout --foreground --kill-after=5 $((DURATION + 30)) \
        "$GRPC_LOAD" -s "$ADDR:$GRPC_PORT" -d "$DATA/queries.txt" -c "$CHANNELS" \
        -q "$OUTSTANDING" -l "$DURATION" >"$2" 2>&1
      ;;
  esac
}

# measure_mode MODE ROUND: one recorded run; appends a row to the TSV.
measure_mode() {
  local mode=$1 round=$2 pid out cpu0 cpu1 gen0 gen1 rc=0
  pid=$(server_pid globaldns)
  alive "$pid" || die "globaldns is no longer running; log: $RUN/globaldns/out.log"
  out=$RUN/globaldns/$mode-round$round.txt
  cpu0=$(tree_cpu_ticks "$pid")
  times >"$out.times0"
  run_one "$mode" "$out" || rc=$?
  times >"$out.times1"
  cpu1=$(tree_cpu_ticks "$pid")
  gen0=$(cpu_seconds_of_times "$out.times0")
  gen1=$(cpu_seconds_of_times "$out.times1")
  if ((rc != 0)); then
    msg "$mode run $round failed (status $rc): $(tail -2 "$out" | tr '\n' ' ')"
    return 1
  fi
  awk -v mode="$mode" -v round="$round" -v srv="$((cpu1 - cpu0))" -v hz="$CLK_TCK" \
    -v gen="$(awk -v a="$gen0" -v b="$gen1" 'BEGIN { print b - a }')" '
    /Queries completed:/ { completed = $3 }
    /Queries lost:/ { lost = $3 }
    /Queries per second:/ { qps = $4 }
    /Average Latency/ { latency = $4 }
    /Latency p50/ { p50 = $4 }
    /Latency p99/ { p99 = $4 }
    END {
      printf "%s\t%s\t%.0f\t%d\t%d\t%.3f\t%s\t%s\t%.3f\t%.3f\n", mode, round, qps, completed, lost,
        latency * 1000, (p50 == "" ? "-" : p50), (p99 == "" ? "-" : p99), srv / hz, gen
    }' "$out" | tee -a "$RESULTS_TSV" | awk -F'\t' '{
      printf "round %s %-4s %8.0f qps, lost %d, avg latency %.3f ms, server CPU %.2f s (%.2f us/query), client CPU %.2f s\n",
        $2, $1, $3, $5, $6, $9, ($4 > 0 ? $9 * 1e6 / $4 : 0), $10 }' >&2
}

summarize_grpc() {
  python3 - "$RESULTS_TSV" <<'EOF'
import csv, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
st = {}
for mode in ("udp", "grpc"):
    rs = [r for r in rows if r["mode"] == mode]
    if not rs:
        continue
    qps = [float(r["qps"]) for r in rs]
    cpu = [float(r["server_cpu_s"]) * 1e6 / int(r["completed"]) for r in rs if int(r["completed"])]
    gen = [float(r["client_cpu_s"]) * 1e6 / int(r["completed"]) for r in rs if int(r["completed"])]
    p99 = [float(r["p99_ms"]) for r in rs if r["p99_ms"] != "-"]
    p50 = [float(r["p50_ms"]) for r in rs if r["p50_ms"] != "-"]
    st[mode] = dict(qps=statistics.median(qps), lo=min(qps), hi=max(qps), cpu=statistics.median(cpu),
                    gen=statistics.median(gen), lat=statistics.median(float(r["latency_ms"]) for r in rs),
                    p50=statistics.median(p50) if p50 else None, p99=statistics.median(p99) if p99 else None,
                    lost=sum(int(r["lost"]) for r in rs), runs=len(rs))
print("| path | median QPS | min–max QPS | server CPU µs/query | client CPU µs/query | avg latency ms "
      "| p50 ms | p99 ms | lost | runs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for mode, s in st.items():
    f = lambda v: "-" if v is None else "%.3f" % v
    print("| %s | %.0f | %.0f–%.0f | %.2f | %.2f | %.3f | %s | %s | %d | %d |" % (
        mode, s["qps"], s["lo"], s["hi"], s["cpu"], s["gen"], s["lat"], f(s["p50"]), f(s["p99"]),
        s["lost"], s["runs"]))
if "udp" in st and "grpc" in st:
    print()
    print("gRPC / UDP: %.2fx the QPS, %.2fx the server CPU per query." % (
        st["grpc"]["qps"] / st["udp"]["qps"], st["grpc"]["cpu"] / st["udp"]["cpu"]))
EOF
}

main_grpc() {
  parse_grpc_args "$@"
  "$GLOBALDNS_ROOT/scripts/install-deps.sh" bench || die "packages missing (see above)"
  command -v dnsperf >/dev/null || die "dnsperf not found"
  prepare_globaldns
  [[ -n $GDNS_BIN && -x $GDNS_BIN ]] || die "no globaldns binary"
  if [[ -z $GRPC_LOAD ]]; then
    GRPC_LOAD=$(dirname "$(dirname "$GDNS_BIN")")/bench/grpc_load
    if [[ ! -x $GRPC_LOAD ]]; then
      msg "building grpc_load in $(dirname "$(dirname "$GDNS_BIN")")"
      cmake --build "$(dirname "$(dirname "$GDNS_BIN")")" --target grpc_load >&2 ||
        die "could not build grpc_load (configure with -DGLOBALDNS_BENCH=ON), or pass -g PATH"
    fi
  fi
  [[ -x $GRPC_LOAD ]] || die "grpc_load not found at $GRPC_LOAD (pass -g PATH)"
  local stamp
  stamp=$(date +%Y%m%d-%H%M%S)
  RUN=$OUT/grpc-run-$stamp
  mkdir -p "$RUN"
  RESULTS_TSV=$OUT/grpc-$stamp.tsv
  printf 'mode\tround\tqps\tcompleted\tlost\tlatency_ms\tp50_ms\tp99_ms\tserver_cpu_s\tclient_cpu_s\n' >"$RESULTS_TSV"
  prepare_data

  trap cleanup EXIT
  trap 'cleanup; exit 130' INT TERM
  local port
  for port in "$(port_of globaldns)" "$GRPC_PORT"; do
    [[ -z $(ss -Hltun "sport = :$port" 2>/dev/null) ]] || die "port $port is already in use"
  done
  start_globaldns_grpc
  wait_ready globaldns || die "globaldns did not answer; log: $(tail -3 "$RUN/globaldns/out.log")"
  check_answers globaldns || die "globaldns answers wrongly (above)"
  local load0
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  msg "up: globaldns pid $(server_pid globaldns); $ROUNDS round(s) x 2 x ${DURATION} s"
  run_one udp "$RUN/globaldns/udp-warmup.txt" || true
  run_one grpc "$RUN/globaldns/grpc-warmup.txt" || true
  local round
  for ((round = 1; round <= ROUNDS; round++)); do
    if ((round % 2)); then
      measure_mode udp "$round" || true
      measure_mode grpc "$round" || true
    else
      measure_mode grpc "$round" || true
      measure_mode udp "$round" || true
    fi
  done
  cleanup
  local report=$OUT/grpc-$stamp.md
  {
    printf '# globaldns: UDP vs gRPC %s\n\n' "$stamp"
    printf -- '- data: %d names, %s queries (%s)\n' "$NAMES" "$(wc -l <"$DATA/queries.txt")" "$DATA"
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf -- '- UDP: `dnsperf -s %s -p %s -d queries.txt %s -l %s`\n' "$ADDR" "$(port_of globaldns)" \
      "${DNSPERF_FLAGS[*]}" "$DURATION"
    # shellcheck disable=SC2016
    printf -- '- gRPC: `grpc_load -s %s:%s -d queries.txt -c %s -q %s -l %s`\n' "$ADDR" "$GRPC_PORT" \
      "$CHANNELS" "$OUTSTANDING" "$DURATION"
    printf -- '- %d interleaved rounds; globaldns --threads %s; %d cores; load average %s at the start, %s at the end\n\n' \
      "$ROUNDS" "$THREADS" "$(nproc)" "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
    summarize_grpc
    printf '\nRaw rows: %s; outputs: %s\n' "$RESULTS_TSV" "$RUN"
  } >"$report"
  cat "$report"
}

main_grpc "$@"
