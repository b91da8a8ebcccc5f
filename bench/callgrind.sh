#!/usr/bin/env bash
# callgrind.sh: user-space instructions per query (valgrind --tool=callgrind), globaldns next to
# NSD and Knot DNS on the same zone and the same fixed query file. Deterministic where QPS is not.
#
#   bench/callgrind.sh [-n NAMES] [-q QUERIES] [-Q RATE] [-p SERVERS] [-b BINARY] [-g GRPC_LOAD]
#                      [-o OUTDIR]
#
#   -n NAMES    names in the data set (default 10000), from bench/gen_data.py
#   -q QUERIES  queries sent to each server, the first lines of gen_data's queries.txt
#               (default 20000)
#   -Q RATE     queries per second (default 1000): low enough that a server under valgrind
#               (about 50 times slower) answers every one
#   -p SERVERS  default "globaldns nsd knot"; "grpc" adds globaldns queried over gRPC with
#               bench/grpc_load, one call at a time (closed loop, so no RATE)
#   -b BINARY   globaldns binary; without it, build/ is built Release (as compare.sh does)
#   -g GRPC_LOAD  the gRPC load client (default: bench/grpc_load of BINARY's build tree)
#   -o OUTDIR   where everything goes (default /tmp/globaldns-bench)
#
# Method, per server (one worker thread or server process each, on 127.0.0.1:5390-5393):
#  1. start it under `valgrind --tool=callgrind --instr-atstart=no`: start-up and zone loading
#     run uninstrumented (fast, and counted nowhere);
#  2. wait until it answers the dig checks of compare.sh (expect.txt) correctly;
#  3. for every process of the server (NSD forks): `callgrind_control -i on`, then `--zero`;
#  4. idle phase: as long as the query phase will be, then `callgrind_control --dump` (file .1);
#  5. query phase: `dnsperf -d first-QUERIES.txt -n 1 -Q RATE -c 1 -T 1`, then `--dump` (file .2);
#  6. Ir/query = (Ir of the query dump - idle Ir scaled to the query phase's length) / answered.
#     Both raw and idle-corrected figures are reported.
# NSD's answering processes are forked children, which callgrind_control cannot reach (valgrind
# gives them no vgdb FIFO): NSD is run twice on one timeline, fully instrumented, once without
# queries, and Ir/query = (Ir with - Ir without) / answered, over all processes (measure_baseline).
# globaldns gets file_poll_interval_ms: 3600000 (a config file): its files are otherwise re-read
# every 2 s, which is idle work (reported in the idle column when left on) and not per query.
# The report (OUTDIR/callgrind-<stamp>.md) ends with callgrind_annotate's top functions of the
# globaldns query phase. Bounded: each phase has a time limit; every server is stopped by PID.
set -euo pipefail

readonly SCRIPT_NAME=callgrind.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=bench/compare.sh
source <(sed -e '/^readonly SCRIPT_NAME=/d' -e '/^HERE=/d' -e '/^readonly HERE$/d' \
  -e '/^main "\$@"$/d' "$HERE/compare.sh")

# Ports of our own, so this runs next to compare.sh and grpc_compare.sh.
port_of() {
  case $1 in
    globaldns) echo 5390 ;;
    nsd) echo 5391 ;;
    knot) echo 5392 ;;
    grpc) echo 5394 ;;  # globaldns's UDP port when measured over gRPC (5393)
  esac
}
readonly GRPC_PORT=5393
THREADS=1
NAMES=10000  # compare.sh measures a list of sizes; one size here
QUERIES=20000
RATE=1000
SERVERS="globaldns nsd knot"
GRPC_LOAD=""
READY_LIMIT=600  # seconds a server may take to start under valgrind

parse_cg_args() {
  local opt
  while getopts "n:q:Q:p:b:g:o:h" opt; do
    case $opt in
      n) NAMES=$OPTARG ;;
      q) QUERIES=$OPTARG ;;
      Q) RATE=$OPTARG ;;
      p) SERVERS=$OPTARG ;;
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
  local s
  positive_integers "-n, -q and -Q" "$NAMES" "$QUERIES" "$RATE"
  for s in $SERVERS; do
    [[ " globaldns nsd knot grpc " == *" $s "* ]] || die "unknown server '$s' (known: globaldns nsd knot grpc)"
  done
  OUT=$(realpath -m "$OUT")
  [[ -z $GDNS_BIN ]] || GDNS_BIN=$(realpath -m "$GDNS_BIN")
}

# start_cg NAME [INSTR]: the server under callgrind, instrumentation off unless INSTR is "yes";
# PID to $RUN/NAME/pid.
start_cg() {
  local name=$1 dir=$RUN/$1
  mkdir -p "$dir"
  local -a vg=(valgrind --tool=callgrind "--instr-atstart=${2:-no}" "--callgrind-out-file=$dir/callgrind.out.%p")
  case $name in
    globaldns | grpc)
      printf 'file_poll_interval_ms: 3600000\n' >"$dir/globaldns.yaml"
      local grpc=off
      [[ $name == grpc ]] && grpc=$ADDR:$GRPC_PORT
      "${vg[@]}" "$GDNS_BIN" serve --config "$dir/globaldns.yaml" --listen "$ADDR:$(port_of "$name")" \
        --files "$DATA/serviceentries" --threads 1 --health off --ready off --grpc "$grpc" \
        --metrics off --lameduck-ms 0 >"$dir/out.log" 2>&1 &
      ;;
    nsd)
      write_nsd_config "$dir"
      "${vg[@]}" nsd -d -c "$dir/nsd.conf" >"$dir/out.log" 2>&1 &
      ;;
    knot)
      write_knot_config "$dir"
      "${vg[@]}" knotd -c "$dir/knot.conf" >"$dir/out.log" 2>&1 &
      ;;
  esac
  echo $! >"$dir/pid"
  STARTED+=("$name")
}

# wait_answers NAME: until the dig checks pass (the data is loaded), it dies, or READY_LIMIT.
wait_answers() {
  local name=$1 pid deadline=$((SECONDS + READY_LIMIT))
  pid=$(server_pid "$name")
  while ((SECONDS < deadline)); do
    alive "$pid" || return 1
    check_answers "$name" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}

# control CMD... NAME: callgrind_control on every process of the server.
control() {
  local name=${*: -1} pid
  for pid in $(tree_pids "$(server_pid "$name")"); do
    callgrind_control "${@:1:$#-1}" "$pid" >/dev/null 2>&1 || msg "callgrind_control $* $pid failed"
  done
}

# dump_total DIR SUFFIX: Ir of the dumps callgrind.out.*SUFFIX in DIR, summed over processes.
dump_total() {
  local f total=0 ir
  for f in "$1"/callgrind.out.*"$2"; do
    [[ -f $f ]] || continue
    ir=$(awk '/^totals:/ { print $2; exit }' "$f")
    total=$((total + ${ir:-0}))
  done
  echo "$total"
}

# send_queries NAME OUTFILE: the fixed query file, once, at RATE (gRPC: one call at a time).
send_queries() {
  local limit=$((QUERIES * 5 / RATE + 60))
  case $1 in
    grpc)
      timeout --foreground --kill-after=5 "$limit" "$GRPC_LOAD" -s "$ADDR:$GRPC_PORT" \
        -d "$QFILE" -c 1 -q 1 -n "$QUERIES" -l $((limit - 10)) >"$2" 2>&1
      ;;
    *)
      timeout --foreground --kill-after=5 "$limit" dnsperf -s "$ADDR" -p "$(port_of "$1")" \
        -d "$QFILE" -n 1 -Q "$RATE" -c 1 -T 1 -t 5 -l $((limit - 10)) >"$2" 2>&1
      ;;
  esac
}

# measure_cg NAME: the zero/dump method (one run; every process takes callgrind_control).
measure_cg() {
  local name=$1 dir=$RUN/$1 t0 idle_s query_s out rc=0
  start_cg "$name"
  if ! wait_answers "$name"; then
    msg "SKIP $name: not answering correctly within $READY_LIMIT s; log: $(tail -3 "$dir/out.log" | tr '\n' ' ')"
    stop_server "$name"
    return 1
  fi
  msg "$name: up (pid $(server_pid "$name"))"
  control -i on "$name"
  sleep 1
  control --zero "$name"
  t0=$(now)
  sleep $(((QUERIES + RATE - 1) / RATE))
  control --dump=idle "$name"
  idle_s=$(elapsed "$t0")
  out=$dir/load.txt
  t0=$(now)
  send_queries "$name" "$out" || rc=$?
  control --dump=queries "$name"
  query_s=$(elapsed "$t0")
  stop_server "$name"
  sleep 0.5
  ((rc == 0)) || msg "$name: the load client failed (status $rc): $(tail -2 "$out" | tr '\n' ' ')"
  local answered idle_ir query_ir
  answered=$(awk '/Queries completed:/ { print $3; exit }' "$out")
  idle_ir=$(dump_total "$dir" .1)
  query_ir=$(dump_total "$dir" .2)
  printf '%s\tzero\t%s\t%s\t%s\t%s\t%s\n' "$name" "${answered:-0}" "$idle_ir" "$idle_s" "$query_ir" "$query_s" >>"$RESULTS_TSV"
  msg "$name: answered ${answered:-0}, idle $idle_ir Ir in $idle_s s, queries $query_ir Ir in $query_s s"
}

# measure_baseline NAME: the two-run method, for NSD: its server processes are forked, and a
# forked child under valgrind has no vgdb FIFO, so callgrind_control cannot reach it. Both runs
# are fully instrumented and follow one timeline (start, checks, PHASE seconds, stop); the first
# sleeps through PHASE, the second sends the queries. Ir/query = (Ir of run 2 - Ir of run 1) /
# answered, Ir summed over all processes at exit (a child's count includes its parent's up to
# the fork, equal in both runs).
measure_baseline() {
  local name=$1 phase=$(((QUERIES + RATE - 1) / RATE + 2)) run t0 out rc=0 answered=0
  local -a ir secs
  for run in idle queries; do
    start_cg "$name" yes
    if ! wait_answers "$name"; then
      msg "SKIP $name: not answering correctly within $READY_LIMIT s; log: $(tail -3 "$RUN/$name/out.log" | tr '\n' ' ')"
      stop_server "$name"
      return 1
    fi
    msg "$name ($run run): up (pid $(server_pid "$name"), processes $(tree_pids "$(server_pid "$name")" | paste -sd ' '))"
    t0=$(now)
    if [[ $run == idle ]]; then
      sleep "$phase"
    else
      out=$RUN/$name/load.txt
      send_queries "$name" "$out" || rc=$?
      sleep "$(awk -v p="$phase" -v e="$(elapsed "$t0")" 'BEGIN { r = p - e; print (r > 0 ? r : 0) }')"
      answered=$(awk '/Queries completed:/ { print $3; exit }' "$out")
    fi
    secs+=("$(elapsed "$t0")")
    stop_server "$name"
    sleep 0.5
    ir+=("$(dump_total "$RUN/$name" "")")
    mv "$RUN/$name" "$RUN/$name-$run"
  done
  ((rc == 0)) || msg "$name: the load client failed (status $rc)"
  printf '%s\tbaseline\t%s\t%s\t%s\t%s\t%s\n' "$name" "${answered:-0}" "${ir[0]}" "${secs[0]}" "${ir[1]}" "${secs[1]}" >>"$RESULTS_TSV"
  msg "$name: answered ${answered:-0}; whole run without queries ${ir[0]} Ir, with ${ir[1]} Ir"
}

summarize_cg() {
  python3 - "$RESULTS_TSV" <<'EOF'
import csv, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
print("| server | method | answered | Ir/query (raw) | idle Ir/s | Ir/query (idle subtracted) | × globaldns |")
print("|---|---|---:|---:|---:|---:|---:|")
net = {}
for r in rows:
    n = int(r["answered"])
    if r["method"] == "zero":
        idle_rate = int(r["idle_ir"]) / float(r["idle_s"]) if float(r["idle_s"]) else 0.0
        r["_raw"] = "%.0f" % (int(r["query_ir"]) / n) if n else "-"
        r["_idle"] = "%.0f" % idle_rate
        net[r["server"]] = (int(r["query_ir"]) - idle_rate * float(r["query_s"])) / n if n else float("nan")
    else:  # two runs, one without queries: only the difference means anything
        r["_raw"], r["_idle"] = "-", "-"
        net[r["server"]] = (int(r["query_ir"]) - int(r["idle_ir"])) / n if n else float("nan")
base = net.get("globaldns")
for r in rows:
    s = r["server"]
    print("| %s | %s | %s | %s | %s | %.0f | %s |" % (s, r["method"], r["answered"], r["_raw"], r["_idle"],
          net[s], "%.2f" % (net[s] / base) if base else "-"))
EOF
}

main_cg() {
  parse_cg_args "$@"
  "$GLOBALDNS_ROOT/scripts/install-deps.sh" bench || die "packages missing (see above)"
  local tool
  for tool in valgrind callgrind_control callgrind_annotate dnsperf dig; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh bench)"
  done
  if [[ " $SERVERS " == *" globaldns "* || " $SERVERS " == *" grpc "* ]]; then
    prepare_globaldns
    [[ -n $GDNS_BIN && -x $GDNS_BIN ]] || die "no globaldns binary"
  fi
  if [[ " $SERVERS " == *" grpc "* ]]; then
    [[ -n $GRPC_LOAD ]] || GRPC_LOAD=$(dirname "$(dirname "$GDNS_BIN")")/bench/grpc_load
    [[ -x $GRPC_LOAD ]] || die "grpc_load not found at $GRPC_LOAD (build it with -DGLOBALDNS_BENCH=ON, or -g PATH)"
  fi
  local stamp
  stamp=$(date +%Y%m%d-%H%M%S)
  RUN=$OUT/callgrind-run-$stamp
  mkdir -p "$RUN"
  RESULTS_TSV=$OUT/callgrind-$stamp.tsv
  printf 'server\tmethod\tanswered\tidle_ir\tidle_s\tquery_ir\tquery_s\n' >"$RESULTS_TSV"
  prepare_data
  QFILE=$RUN/queries-$QUERIES.txt
  head -n "$QUERIES" "$DATA/queries.txt" >"$QFILE"
  QUERIES=$(wc -l <"$QFILE")

  trap cleanup EXIT
  trap 'cleanup; exit 130' INT TERM
  local load0 name
  load0=$(cut -d' ' -f1-3 /proc/loadavg)
  for name in $SERVERS; do
    if port_in_use "$(port_of "$name")"; then
      msg "SKIP $name: port $(port_of "$name") in use"
      continue
    fi
    if [[ $name == nsd ]]; then
      measure_baseline "$name" || true
    else
      measure_cg "$name" || true
    fi
  done
  cleanup
  local report=$OUT/callgrind-$stamp.md
  {
    printf '# Instructions per query under callgrind %s\n\n' "$stamp"
    printf -- '- data: %d names; %d queries (first lines of %s), each sent once\n' "$NAMES" "$QUERIES" "$DATA/queries.txt"
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf -- '- UDP load: `dnsperf -n 1 -Q %d -c 1 -T 1`; gRPC load: `grpc_load -c 1 -q 1 -n %d`\n' "$RATE" "$QUERIES"
    printf -- '- %s; %s; one worker thread / server process each\n' "$(valgrind --version)" \
      "$(versions_cg | paste -sd ';' | sed 's/;/; /g')"
    printf -- '- load average %s at the start, %s at the end (callgrind counts are independent of it)\n\n' \
      "$load0" "$(cut -d' ' -f1-3 /proc/loadavg)"
    summarize_cg
    local f
    for name in globaldns grpc; do
      for f in "$RUN/$name"/callgrind.out.*.2; do
        [[ -f $f ]] || continue
        printf '\n## %s: top functions of the query phase (self Ir)\n\n```\n' "$name"
        callgrind_annotate "$f" 2>/dev/null | awk '/^-+$/ { d++ } d >= 4 && NF' | grep -v '^-' | awk 'NR <= 25' | cut -c1-160
        printf '```\n'
      done
    done
    printf '\nRaw rows: %s; callgrind files: %s/*/callgrind.out.PID.{1 idle,2 queries} (NSD: nsd-{idle,queries}/callgrind.out.PID)\n' "$RESULTS_TSV" "$RUN"
  } >"$report"
  cat "$report"
}

versions_cg() {
  local s
  for s in $SERVERS; do
    case $s in
      globaldns) printf 'globaldns %s\n' "$GDNS_BIN" ;;
      nsd) nsd -v 2>&1 | awk 'NR == 1' ;;
      knot) knotd -V 2>&1 | awk 'NR == 1' ;;
    esac
  done
}

main_cg "$@"
