#!/usr/bin/env bash
# compare.sh: load benchmark of globaldns against NSD and Knot DNS, same data, on loopback.
#
#   bench/compare.sh [-n NAMES] [-r ROUNDS] [-l SECONDS] [-p "globaldns nsd knot"]
#                    [-t THREADS] [-w WARMUP] [-b BINARY] [-o OUTDIR]
#
#   -n NAMES    names in the data set (default 10000): svc<i>.ns<j>.global, 100 per namespace
#   -r ROUNDS   interleaved rounds (default 3): each round runs every server once, in turn
#   -l SECONDS  length of one dnsperf run (default 10)
#   -p SERVERS  servers to compare (default "globaldns nsd knot"); one whose binary is missing,
#               whose port is taken or that answers the dig checks wrongly is skipped, with a reason
#   -t THREADS  worker threads (globaldns, Knot) or server processes (NSD) (default 2)
#   -w WARMUP   seconds of unrecorded load per server before round 1 (default 2)
#   -b BINARY   globaldns binary to use; without it, build/globaldns is built with the project's
#               Release configuration (scripts/lib.sh), only the server target
#   -o OUTDIR   where everything goes (default /tmp/globaldns-bench)
#
# Steps: install the bench packages if missing (scripts/install-deps.sh bench); build globaldns;
# generate the data with bench/gen_data.py (ServiceEntry YAML for globaldns, one RFC 1035 zone
# file for NSD and Knot, dnsperf queries; cached in OUTDIR/data-n<NAMES>); start each server on
# 127.0.0.1 (globaldns :5360, NSD :5361, Knot :5362) with its configs, logs and state in
# OUTDIR/run-<stamp>/<server>/; check its answers with dig; then, ROUNDS times, for each server:
#   dnsperf -s 127.0.0.1 -p PORT -d queries.txt -c 8 -T 2 -q 500 -t 1 -l SECONDS
# reading the server's CPU time (utime+stime in /proc/PID/stat, summed over its processes, such as
# NSD's server children) before and after. At the end: peak RSS (VmHWM, the largest of its
# processes), then one table (OUTDIR/results-<stamp>.md; raw rows in results-<stamp>.tsv).
#
# Every process started here is stopped by its PID on exit, also on Ctrl-C. Bounded: about
# ROUNDS x servers x (SECONDS + 1) s plus start-up; one dnsperf run is killed after SECONDS+30 s.
# Nothing is pinned to a core: on a 2-core machine the servers and dnsperf share both cores, so
# QPS is capped by the load generator; CPU µs/query (the server's own) separates servers better.
set -euo pipefail

readonly SCRIPT_NAME=compare.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=scripts/lib.sh
source "$HERE/../scripts/lib.sh"

readonly ADDR=127.0.0.1
readonly -a DNSPERF_FLAGS=(-c 8 -T 2 -q 500 -t 1)
readonly ALL_SERVERS="globaldns nsd knot"
CLK_TCK=$(getconf CLK_TCK)
readonly CLK_TCK

NAMES=10000
ROUNDS=3
DURATION=10
SERVERS=$ALL_SERVERS
THREADS=2
WARMUP=2
GDNS_BIN=""
OUT=/tmp/globaldns-bench

RUN=""          # this run's folder
DATA=""         # the data set's folder
STARTED=()      # servers started, stopped by cleanup()
READY=()        # servers that passed the checks, in interleave order
SKIPPED=()      # "server: reason"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

parse_args() {
  local opt
  while getopts "n:r:l:p:t:w:b:o:h" opt; do
    case $opt in
      n) NAMES=$OPTARG ;;
      r) ROUNDS=$OPTARG ;;
      l) DURATION=$OPTARG ;;
      p) SERVERS=$OPTARG ;;
      t) THREADS=$OPTARG ;;
      w) WARMUP=$OPTARG ;;
      b) GDNS_BIN=$OPTARG ;;
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
  local v
  for v in "$NAMES" "$ROUNDS" "$DURATION" "$THREADS"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "-n, -r, -l and -t take positive integers, got '$v'"
  done
  [[ $WARMUP =~ ^[0-9]+$ ]] || die "-w takes a whole number of seconds, got '$WARMUP'"
  OUT=$(realpath -m "$OUT")
  [[ -z $GDNS_BIN ]] || GDNS_BIN=$(realpath -m "$GDNS_BIN")
  local s
  for s in $SERVERS; do
    [[ " $ALL_SERVERS " == *" $s "* ]] || die "unknown server '$s' (known: $ALL_SERVERS)"
  done
}

port_of() {
  case $1 in
    globaldns) echo 5360 ;;
    nsd) echo 5361 ;;
    knot) echo 5362 ;;
  esac
}

skip() {
  SKIPPED+=("$1: $2")
  msg "SKIP $1: $2"
}

# ---------------------------------------------------------------------------------------------
# Process accounting from /proc, for a server and all its descendants.

# tree_pids ROOT: ROOT and its descendants, one per line (nothing if ROOT is gone).
tree_pids() {
  [[ -d /proc/$1 ]] || return 0
  # "pid ppid" of every process; comm (field 2) may hold spaces and ')', so cut after the last ')'.
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
    { pid = $1; sub(/^.*\) /, ""); kids[$2] = kids[$2] " " pid }
    END {
      queue[1] = root; n = 1
      for (i = 1; i <= n; i++) {
        print queue[i]
        m = split(kids[queue[i]], k, " ")
        for (j = 1; j <= m; j++) queue[++n] = k[j]
      }
    }'
}

# tree_cpu_ticks ROOT: utime+stime (all threads) plus cutime+cstime (reaped children) over the
# tree, in clock ticks.
tree_cpu_ticks() {
  local pid total=0 ticks
  for pid in $(tree_pids "$1"); do
    ticks=$(awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' "/proc/$pid/stat" 2>/dev/null) || true
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}

# tree_peak_rss_kib ROOT: the largest VmHWM of the tree's processes (forked NSD servers share
# most of their pages, so a sum would count the zone several times).
tree_peak_rss_kib() {
  local pid max=0 hwm
  for pid in $(tree_pids "$1"); do
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null) || true
    ((${hwm:-0} <= max)) || max=$hwm
  done
  echo "$max"
}

# cpu_seconds_of_times FILE: user+sys CPU of reaped children, from the output of bash's `times`
# (its second line). `times` itself must run in the measuring shell, not in a $(...) subshell.
cpu_seconds_of_times() {
  awk 'NR == 2 {
         t = 0
         for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
         printf "%.3f\n", t
       }' "$1"
}

# ---------------------------------------------------------------------------------------------
# Servers: config, start, readiness, answers, stop.

write_nsd_config() {
  local dir=$1
  cat >"$dir/nsd.conf" <<EOF
# NSD for bench/compare.sh: unprivileged-friendly, everything under $dir.
server:
    ip-address: $ADDR@$(port_of nsd)
    do-ip6: no
    server-count: $THREADS
    reuseport: yes
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/zone.list"
    xfrdfile: "$dir/xfrd.state"
    xfrdir: "$dir"
    pidfile: "$dir/nsd.pid"
    logfile: "$dir/nsd.log"
    verbosity: 1
    hide-version: yes
    minimal-responses: yes
    zonefiles-write: 0
    # Debian builds NSD with response rate limiting on (200 qps per /24 by default): all load
    # comes from 127.0.0.1, so it would measure the limiter.
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: "global"
    zonefile: "$DATA/global.zone"
EOF
}

write_knot_config() {
  local dir=$1
  cat >"$dir/knot.conf" <<EOF
# Knot DNS for bench/compare.sh: unprivileged-friendly, everything under $dir.
server:
    rundir: "$dir"
    pidfile: "$dir/knot.pid"
    listen: $ADDR@$(port_of knot)
    udp-workers: $THREADS
    tcp-workers: 1
    background-workers: $THREADS
log:
  - target: stderr
    any: warning
database:
    storage: "$dir/db"
control:
    listen: "$dir/knot.sock"
template:
  - id: default
    storage: "$dir"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
zone:
  - domain: global
    file: "$DATA/global.zone"
EOF
}

# server_available NAME: whether its binary is there.
server_available() {
  case $1 in
    globaldns) [[ -n $GDNS_BIN && -x $GDNS_BIN ]] ;;
    nsd) command -v nsd >/dev/null ;;
    knot) command -v knotd >/dev/null ;;
  esac
}

port_in_use() { [[ -n $(ss -Hlun "sport = :$1" 2>/dev/null) ]]; }

# start_server NAME: start it in the background; its PID goes to $RUN/NAME/pid.
start_server() {
  local name=$1 dir=$RUN/$1
  mkdir -p "$dir"
  case $name in
    globaldns)
      "$GDNS_BIN" serve --listen "$ADDR:$(port_of globaldns)" --files "$DATA/serviceentries.yaml" \
        --threads "$THREADS" --health off --ready off --grpc off --metrics "$ADDR:0" \
        --lameduck-ms 0 >"$dir/out.log" 2>&1 &
      ;;
    nsd)
      write_nsd_config "$dir"
      nsd -d -c "$dir/nsd.conf" >"$dir/out.log" 2>&1 &
      ;;
    knot)
      write_knot_config "$dir"
      knotd -c "$dir/knot.conf" >"$dir/out.log" 2>&1 &
      ;;
  esac
  echo $! >"$dir/pid"
  STARTED+=("$name")
}

server_pid() { cat "$RUN/$1/pid"; }
# alive PID: the process exists and is not a zombie (an exited child not yet reaped by its parent).
alive() {
  local state
  state=$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

# ask PORT NAME TYPE: "RCODE FLAGS ADDRESS..." of one query (dig, no recursion, no retries).
ask() {
  dig @"$ADDR" -p "$1" +norec +time=1 +tries=1 +noall +comments +answer "$2" "$3" 2>/dev/null |
    awk -v type="$3" '
      /status:/ { s = $0; sub(/.*status: /, "", s); sub(/,.*/, "", s); rcode = s }
      /;; flags:/ { f = $0; sub(/.*flags: /, "", f); sub(/;.*/, "", f); gsub(/ /, ",", f); flags = f }
      !/^;/ && NF >= 5 && $4 == type { answer = answer " " $5 }
      END { if (rcode != "") print rcode, flags answer }'
}

# wait_ready NAME: until the server answers SOA for the zone, it dies, or the time is up.
wait_ready() {
  local name=$1 port pid deadline
  port=$(port_of "$name")
  pid=$(server_pid "$name")
  deadline=$((SECONDS + 30 + NAMES / 5000))
  while ((SECONDS < deadline)); do
    alive "$pid" || return 1
    [[ $(ask "$port" global SOA) == NOERROR* ]] && return 0
    sleep 0.2
  done
  return 1
}

# check_answers NAME: compare the answers to expect.txt; print each mismatch; fail on any.
check_answers() {
  local name=$1 port bad=0 qname qtype rcode want got got_rcode got_flags got_answer
  port=$(port_of "$name")
  while read -r qname qtype rcode want; do
    got=$(ask "$port" "$qname" "$qtype")
    read -r got_rcode got_flags got_answer <<<"$got"
    [[ $want == - ]] && want=""
    if [[ $got_rcode != "$rcode" || ${got_answer:-} != "$want" || ,$got_flags, != *,aa,* ]]; then
      msg "WRONG $name: $qname $qtype: want $rcode aa ${want:-(no answer)}; got ${got:-no reply}"
      bad=1
    fi
  done <"$DATA/expect.txt"
  return "$bad"
}

# stop_server NAME: SIGTERM its main process, wait up to 10 s, then SIGKILL what is left of the
# tree as it was before the SIGTERM. Only PIDs this script started (and their children).
stop_server() {
  local name=$1 pid pids p i
  [[ -f $RUN/$name/pid ]] || return 0
  pid=$(server_pid "$name")
  rm -f "$RUN/$name/pid"
  alive "$pid" || return 0
  pids=$(tree_pids "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    alive "$pid" || break
    sleep 0.2
  done
  sleep 0.2  # the children of a process that just exited may still be finishing
  for p in $pids; do
    if alive "$p"; then
      msg "$name: pid $p still running 10 s after SIGTERM; SIGKILL"
      kill -KILL "$p" 2>/dev/null || true
    fi
  done
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local name
  for name in "${STARTED[@]}"; do stop_server "$name"; done
  STARTED=()
}

# ---------------------------------------------------------------------------------------------
# Measuring.

# dnsperf_run NAME SECONDS OUTFILE
dnsperf_run() {
  timeout --foreground --kill-after=5 $(($2 + 30)) \
    dnsperf -s "$ADDR" -p "$(port_of "$1")" -d "$DATA/queries.txt" "${DNSPERF_FLAGS[@]}" -l "$2" \
    >"$3" 2>&1
}

# measure NAME ROUND: one recorded run; appends a row to the results TSV.
measure() {
  local name=$1 round=$2 pid out cpu0 cpu1 gen0 gen1 t0 rc=0
  pid=$(server_pid "$name")
  if ! alive "$pid"; then
    msg "$name is no longer running (round $round); log: $RUN/$name/out.log"
    return 1
  fi
  out=$RUN/$name/dnsperf-round$round.txt
  cpu0=$(tree_cpu_ticks "$pid")
  t0=$(now)
  times >"$out.times0"
  dnsperf_run "$name" "$DURATION" "$out" || rc=$?
  times >"$out.times1"
  gen0=$(cpu_seconds_of_times "$out.times0")
  gen1=$(cpu_seconds_of_times "$out.times1")
  cpu1=$(tree_cpu_ticks "$pid")
  local wall
  wall=$(elapsed "$t0")
  if ((rc != 0)); then
    msg "dnsperf against $name failed (status $rc): $(tail -1 "$out")"
    return 1
  fi
  local row
  row=$(awk -v server="$name" -v round="$round" -v srv="$((cpu1 - cpu0))" -v hz="$CLK_TCK" \
    -v gen="$(awk -v a="$gen0" -v b="$gen1" 'BEGIN { print b - a }')" -v wall="$wall" '
    /Queries completed:/ { completed = $3 }
    /Queries lost:/ { lost = $3 }
    /Queries per second:/ { qps = $4 }
    /Average Latency/ { latency = $4 }
    /Response codes:/ {
      s = $0; sub(/.*Response codes: */, "", s); n = split(s, parts, /, /)
      for (i = 1; i <= n; i++) {
        split(parts[i], kv, " ")
        if (kv[1] == "NOERROR") noerror = kv[2]; else if (kv[1] == "NXDOMAIN") nxdomain = kv[2]; else other += kv[2]
      }
    }
    END {
      printf "%s\t%s\t%.0f\t%d\t%d\t%.3f\t%.3f\t%.3f\t%s\t%d\t%d\t%d\n", server, round, qps, completed,
        lost, latency * 1000, srv / hz, gen, wall, noerror, nxdomain, other
    }' "$out")
  printf '%s\n' "$row" >>"$RESULTS_TSV"
  awk -F'\t' '{ printf "round %s %-9s %8.0f qps, lost %d, latency %.3f ms, server CPU %.2f s (%.1f us/query), dnsperf CPU %.2f s\n",
    $2, $1, $3, $5, $6, $7, ($4 > 0 ? $7 * 1e6 / $4 : 0), $8 }' <<<"$row" >&2
}

summarize() {
  python3 - "$RESULTS_TSV" "$MEMORY_TSV" <<'EOF'
import csv, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
peak = {r["server"]: int(r["peak_rss_kib"]) for r in csv.DictReader(open(sys.argv[2]), delimiter="\t")}
order = []
for r in rows:
    if r["server"] not in order:
        order.append(r["server"])
if not order:
    print("no measurements")
    sys.exit(0)

def per_query_us(r, key):
    done = int(r["completed"])
    return float(r[key]) * 1e6 / done if done else float("nan")

stats = {}
for s in order:
    rs = [r for r in rows if r["server"] == s]
    qps = [float(r["qps"]) for r in rs]
    sent = sum(int(r["completed"]) + int(r["lost"]) for r in rs)
    stats[s] = {
        "median": statistics.median(qps), "min": min(qps), "max": max(qps), "runs": len(rs),
        "lost": 100.0 * sum(int(r["lost"]) for r in rs) / sent if sent else 0.0,
        "cpu": statistics.median(per_query_us(r, "server_cpu_s") for r in rs),
        "gen": statistics.median(per_query_us(r, "dnsperf_cpu_s") for r in rs),
        "nx": 100.0 * sum(int(r["nxdomain"]) for r in rs) / max(1, sum(int(r["completed"]) for r in rs)),
        "other": sum(int(r["other_rcodes"]) for r in rs),
    }

peers = [s for s in order if s in ("nsd", "knot")]
best = max(peers, key=lambda s: stats[s]["median"]) if peers else None
print("| server | median QPS | min–max QPS | QPS ÷ best peer | server CPU µs/query | peak RSS MiB "
      "| lost % | NXDOMAIN % | other rcodes | dnsperf CPU µs/query | runs |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for s in order:
    st = stats[s]
    ratio = "%.2f" % (st["median"] / stats[best]["median"]) if best else "-"
    rss = "%.1f" % (peak[s] / 1024.0) if s in peak else "-"
    print("| %s | %.0f | %.0f–%.0f | %s | %.2f | %s | %.2f | %.1f | %d | %.2f | %d |" % (
        s, st["median"], st["min"], st["max"], ratio, st["cpu"], rss, st["lost"], st["nx"],
        st["other"], st["gen"], st["runs"]))
print()
if best:
    print("Best peer: %s (higher median QPS of NSD and Knot)." % best)
    if "globaldns" in stats:
        g, b = stats["globaldns"], stats[best]
        print("globaldns vs %s: %.2fx the QPS, %.2fx the server CPU per query." % (
            best, g["median"] / b["median"], g["cpu"] / b["cpu"] if b["cpu"] else float("nan")))
EOF
}

# ---------------------------------------------------------------------------------------------

versions() {
  local s
  for s in "${READY[@]}"; do
    case $s in
      globaldns) printf 'globaldns: %s (built %s)\n' "$GDNS_BIN" "$(date -r "$GDNS_BIN" '+%F %T')" ;;
      nsd) printf '%s\n' "$(nsd -v 2>&1 | head -1)" ;;
      knot) printf '%s\n' "$(knotd -V 2>&1 | head -1)" ;;
    esac
  done
  printf 'dnsperf %s\n' "$(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }')"
}

prepare_globaldns() {
  [[ " $SERVERS " == *" globaldns "* ]] || return 0
  if [[ -n $GDNS_BIN ]]; then
    [[ -x $GDNS_BIN ]] || msg "-b $GDNS_BIN is not an executable"
    return 0
  fi
  msg "building globaldns in $GLOBALDNS_ROOT/$RELEASE_DIR/"
  if ! (cd "$GLOBALDNS_ROOT" && configure "$RELEASE_DIR" "${RELEASE_ARGS[@]}" &&
    build_server "$RELEASE_DIR"); then
    msg "the globaldns build failed (see above)"
  fi
  local bin
  if bin=$(cd "$GLOBALDNS_ROOT" && server_binary "$RELEASE_DIR"); then
    GDNS_BIN=$GLOBALDNS_ROOT/$bin
  fi
}

prepare_data() {
  DATA=$OUT/data-n$NAMES
  if [[ -f $DATA/done && $DATA/done -nt $HERE/gen_data.py ]]; then
    msg "data: $DATA (cached)"
    return 0
  fi
  rm -f "$DATA/done"
  python3 "$HERE/gen_data.py" -n "$NAMES" -o "$DATA" || die "gen_data.py failed"
  touch "$DATA/done"
}

start_all() {
  local name port
  for name in $SERVERS; do
    port=$(port_of "$name")
    if ! server_available "$name"; then
      case $name in
        globaldns) skip "$name" "no binary (build it, or pass -b PATH)" ;;
        nsd) skip "$name" "nsd not installed (scripts/install-deps.sh bench)" ;;
        knot) skip "$name" "knotd not installed (scripts/install-deps.sh bench)" ;;
      esac
      continue
    fi
    if port_in_use "$port"; then
      skip "$name" "UDP port $port is already in use by another process"
      continue
    fi
    local t0
    t0=$(now)
    start_server "$name"
    if ! wait_ready "$name"; then
      skip "$name" "did not answer SOA on port $port; log tail: $(tail -3 "$RUN/$name/out.log" | tr '\n' ' ')"
      stop_server "$name"
      continue
    fi
    if ! check_answers "$name"; then
      skip "$name" "wrong answers (above)"
      stop_server "$name"
      continue
    fi
    msg "up: $name on $ADDR:$port, pid $(server_pid "$name"), answering after $(elapsed "$t0") s, checks ok"
    READY+=("$name")
  done
}

main() {
  parse_args "$@"
  "$GLOBALDNS_ROOT/scripts/install-deps.sh" bench || die "packages missing (see above)"
  command -v dnsperf >/dev/null || die "dnsperf not found"
  command -v dig >/dev/null || die "dig not found"

  prepare_globaldns
  local stamp
  stamp=$(date +%Y%m%d-%H%M%S)
  RUN=$OUT/run-$stamp
  mkdir -p "$RUN"
  RESULTS_TSV=$OUT/results-$stamp.tsv
  MEMORY_TSV=$OUT/memory-$stamp.tsv
  local report=$OUT/results-$stamp.md
  printf 'server\tround\tqps\tcompleted\tlost\tlatency_ms\tserver_cpu_s\tdnsperf_cpu_s\twall_s\tnoerror\tnxdomain\tother_rcodes\n' >"$RESULTS_TSV"
  printf 'server\tpeak_rss_kib\n' >"$MEMORY_TSV"
  prepare_data

  trap cleanup EXIT
  trap 'cleanup; exit 130' INT TERM
  start_all
  ((${#READY[@]} > 0)) || die "no server to measure"

  local -i nready=${#READY[@]}
  msg "measuring ${READY[*]}: $ROUNDS round(s) x ${DURATION} s, about $((nready * (WARMUP + ROUNDS * (DURATION + 1)))) s"
  local name round
  for name in "${READY[@]}"; do
    ((WARMUP == 0)) || dnsperf_run "$name" "$WARMUP" "$RUN/$name/dnsperf-warmup.txt" || true
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${READY[@]}"; do measure "$name" "$round" || true; done
  done
  for name in "${READY[@]}"; do
    if [[ ! -f $RUN/$name/pid ]] || ! alive "$(server_pid "$name")"; then continue; fi
    printf '%s\t%s\n' "$name" "$(tree_peak_rss_kib "$(server_pid "$name")")" >>"$MEMORY_TSV"
  done
  cleanup

  {
    printf '# globaldns load comparison %s\n\n' "$stamp"
    printf -- '- data: %d names (%s), %s queries: 80%% A hits, 10%% AAAA NODATA, 10%% NXDOMAIN, 25%% mixed case\n' \
      "$NAMES" "$DATA" "$(wc -l <"$DATA/queries.txt")"
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf -- '- load: `dnsperf -s %s -p PORT -d queries.txt %s -l %s`, %d interleaved round(s), %d s warm-up\n' \
      "$ADDR" "${DNSPERF_FLAGS[*]}" "$DURATION" "$ROUNDS" "$WARMUP"
    printf -- '- host: %d cores, %s; no CPU pinning: servers (%d threads/processes each) and dnsperf share all cores\n' \
      "$(nproc)" "$(uname -r)" "$THREADS"
    printf -- '- versions: %s\n' "$(versions | paste -sd ';' | sed 's/;/; /g')"
    local s
    for s in "${SKIPPED[@]}"; do printf -- '- skipped %s\n' "$s"; done
    printf '\n'
    summarize
    printf '\nRaw rows: %s; server logs and dnsperf output: %s\n' "$RESULTS_TSV" "$RUN"
  } >"$report"
  cp "$report" "$OUT/latest.md"
  printf '\n' >&2
  cat "$report"
}

main "$@"
