#!/usr/bin/env bash
# compare.sh: load benchmark of globaldns against NSD, Knot DNS and a UDP reflector (the
# machine's ceiling), same data, on loopback; one table per zone size.
#
#   bench/compare.sh [-n "NAMES..."] [-r ROUNDS] [-l SECONDS] [-p "reflector globaldns nsd knot"]
#                    [-t THREADS] [-w WARMUP] [-Q RATE] [-P PERCENT] [-C SERVER:CLIENT]
#                    [-b BINARY] [-o OUTDIR]
#
#   -n NAMES    names in the data set, one or more sizes (default "10000 1000000"):
#               svc<i>.ns<j>.global, 100 per namespace; every size is a separate run and table
#   -r ROUNDS   interleaved rounds at saturation (default 3): each round runs every server in turn
#   -l SECONDS  length of one dnsperf run (default 10)
#   -p SERVERS  servers to compare (default "reflector globaldns nsd knot"); one whose binary is
#               missing, whose port is taken or that answers the dig checks wrongly is skipped,
#               with a reason
#   -t THREADS  worker threads (reflector, globaldns, Knot) or server processes (NSD) (default 2)
#   -w WARMUP   seconds of unrecorded load per server before round 1 (default 2)
#   -Q RATE     after the rounds, one run per server at this fixed rate (dnsperf -Q) for the CPU
#               cost per query below saturation (default 20000; 0: none)
#   -P PERCENT  then one run of globaldns and NSD at PERCENT % of globaldns's median QPS, for
#               the p99 latency under that load (default 80; 0: none): a second, light dnsperf
#               (-Q 2000, one socket) runs alongside with -v and its per-query latencies give the
#               p99 (dnsperf 2.10 has no histogram; -v on the loaded client itself would make
#               the client the bottleneck and measure its own queue)
#   -C S:C      pin every server to CPUs S and dnsperf to CPUs C (taskset lists, e.g. 1:0);
#               default: nothing pinned (below). On a 2-core machine "-C 1:0" gives each server
#               exactly the one core the load generator leaves it, so the scheduler's placement
#               of server threads next to dnsperf's no longer varies between servers and runs
#   -b BINARY   globaldns binary to use; without it, build/globaldns and build/bench/reflector are
#               built with the project's Release configuration (scripts/lib.sh); with it, the
#               reflector is taken from the same build tree (BINARY/../../bench/reflector) or
#               else compiled with cc into OUTDIR
#   -o OUTDIR   where everything goes (default /tmp/globaldns-bench)
#
# Steps: install the bench packages if missing (scripts/install-deps.sh bench); build; then for
# each size: generate the data with bench/gen_data.py (ServiceEntry YAML for globaldns, one
# RFC 1035 zone file for NSD and Knot, dnsperf queries; cached in OUTDIR/data-n<NAMES>); start
# each server on 127.0.0.1 (globaldns :5360, NSD :5361, Knot :5362, reflector :5363) with its
# configs, logs and state in OUTDIR/run-<stamp>/n<NAMES>/<server>/, timing start to the first SOA
# answer; check its answers with dig (not the reflector's: it only echoes); then ROUNDS times, for
# each server:
#   dnsperf -s 127.0.0.1 -p PORT -d queries.txt -c 8 -T 2 -q 500 -t 1 -l SECONDS
# reading the server's CPU time (utime+stime in /proc/PID/stat, summed over its processes, such as
# NSD's server children) before and after; then the -Q and -P runs. At the end: peak RSS (VmHWM,
# the largest of its processes), then the tables (OUTDIR/results-<stamp>.md, raw rows in
# results-<stamp>.tsv). "DNS work" is a server's CPU per query minus the reflector's in the same
# run: what answering adds above the kernel's own cost of receiving and sending a datagram.
#
# Every process started here is stopped by its PID on exit, also on Ctrl-C. Bounded: per size
# about servers x (WARMUP + (ROUNDS + 1) x (SECONDS + 1)) + 2 x (SECONDS + 1) s plus start-up
# (about 4 minutes at the defaults) plus start-up, which for globaldns at 1M names from files is
# about 40 s (docs/PERFORMANCE.md); one dnsperf run is killed after SECONDS+30 s.
# Without -C nothing is pinned to a core: on a 2-core machine the servers and dnsperf share both cores, so
# QPS is capped by the load generator; CPU µs/query (the server's own) separates servers better.
set -euo pipefail

readonly SCRIPT_NAME=compare.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly HERE
# shellcheck source=scripts/lib.sh
source "$HERE/../scripts/lib.sh"

readonly ADDR=127.0.0.1
readonly -a DNSPERF_FLAGS=(-c 8 -T 2 -q 500 -t 1)
readonly PROBE_RATE=2000  # queries per second of the latency probe (-P)
readonly ALL_SERVERS="reflector globaldns nsd knot"
CLK_TCK=$(getconf CLK_TCK)
readonly CLK_TCK

SIZES="10000 1000000"
NAMES=0         # the size being measured
ROUNDS=3
DURATION=10
SERVERS=$ALL_SERVERS
THREADS=2
WARMUP=2
FIXED_RATE=20000
LATENCY_PERCENT=80
GDNS_BIN=""
PIN=""          # -C: "SERVER_CPUS:CLIENT_CPUS", empty for none
SERVER_PIN=()   # command prefixes that apply it
CLIENT_PIN=()
REFLECTOR_BIN=""
OUT=/tmp/globaldns-bench

RUN=""          # this run's folder
DATA=""         # the data set's folder
STARTED=()      # servers started, stopped by cleanup()
READY=()        # servers that passed the checks, in interleave order
SKIPPED=()      # "server: reason"


parse_args() {
  local opt
  while getopts "n:r:l:p:t:w:Q:P:C:b:o:h" opt; do
    case $opt in
      n) SIZES=$OPTARG ;;
      r) ROUNDS=$OPTARG ;;
      l) DURATION=$OPTARG ;;
      p) SERVERS=$OPTARG ;;
      t) THREADS=$OPTARG ;;
      w) WARMUP=$OPTARG ;;
      Q) FIXED_RATE=$OPTARG ;;
      P) LATENCY_PERCENT=$OPTARG ;;
      C) PIN=$OPTARG ;;
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
  [[ -n ${SIZES// /} ]] || die "-n takes one or more sizes"
  # shellcheck disable=SC2086  # SIZES is a list
  positive_integers "-n, -r, -l and -t" $SIZES "$ROUNDS" "$DURATION" "$THREADS"
  for v in "$WARMUP" "$FIXED_RATE" "$LATENCY_PERCENT"; do
    [[ $v =~ ^[0-9]+$ ]] || die "-w, -Q and -P take whole numbers, got '$v'"
  done
  ((LATENCY_PERCENT <= 100)) || die "-P takes a percentage (0-100), got '$LATENCY_PERCENT'"
  if [[ -n $PIN ]]; then
    [[ $PIN =~ ^[0-9,-]+:[0-9,-]+$ ]] || die "-C takes SERVER_CPUS:CLIENT_CPUS (e.g. 1:0), got '$PIN'"
    command -v taskset >/dev/null || die "-C needs taskset (util-linux)"
    SERVER_PIN=(taskset -c "${PIN%%:*}")
    CLIENT_PIN=(taskset -c "${PIN##*:}")
  fi
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
    reflector) echo 5363 ;;
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
  # A process that exits between the glob and the read makes cat fail: not an error here (with
  # pipefail and set -e it used to end the script in the middle of stopping the servers).
  { cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$1" '
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
    reflector) [[ -n $REFLECTOR_BIN && -x $REFLECTOR_BIN ]] ;;
  esac
}

port_in_use() { [[ -n $(ss -Hlun "sport = :$1" 2>/dev/null) ]]; }

# start_server NAME: start it in the background; its PID goes to $RUN/NAME/pid.
start_server() {
  local name=$1 dir=$RUN/$1
  mkdir -p "$dir"
  case $name in
    globaldns)
      "${SERVER_PIN[@]}" "$GDNS_BIN" serve --listen "$ADDR:$(port_of globaldns)" --files "$DATA/serviceentries" \
        --threads "$THREADS" --health off --ready off --grpc off --metrics "$ADDR:0" \
        --lameduck-ms 0 >"$dir/out.log" 2>&1 &
      ;;
    nsd)
      write_nsd_config "$dir"
      "${SERVER_PIN[@]}" nsd -d -c "$dir/nsd.conf" >"$dir/out.log" 2>&1 &
      ;;
    knot)
      write_knot_config "$dir"
      "${SERVER_PIN[@]}" knotd -c "$dir/knot.conf" >"$dir/out.log" 2>&1 &
      ;;
    reflector)
      "${SERVER_PIN[@]}" "$REFLECTOR_BIN" "$ADDR" "$(port_of reflector)" "$THREADS" \
        >"$dir/out.log" 2>&1 &
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
  # globaldns reads 1M names from files in about 40 s on this machine (decoding about 20 s,
  # the first translation and build about 20 s); the deadline leaves room for a loaded machine.
  deadline=$((SECONDS + 30 + NAMES / 1000))
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

# dnsperf_run NAME SECONDS OUTFILE [DNSPERF_ARGS...]
dnsperf_run() {
  local name=$1 seconds=$2 out=$3
  shift 3
  timeout --foreground --kill-after=5 $((seconds + 30)) \
    "${CLIENT_PIN[@]}" dnsperf -s "$ADDR" -p "$(port_of "$name")" -d "$DATA/queries.txt" "${DNSPERF_FLAGS[@]}" \
    -l "$seconds" "$@" >"$out" 2>&1
}

# p99_ms VERBOSE_OUTPUT: the 99th percentile of the per-query latencies dnsperf -v printed
# ("> RCODE NAME TYPE SECONDS"), in ms; a query that was lost counts as slower than any answer,
# so "lost" if more than 1% were lost.
p99_ms() {
  local sent
  sent=$(awk '/Queries sent:/ { print $3 }' "$1")
  awk '/^> / { print $NF }' "$1" | sort -g | awk -v sent="${sent:-0}" '
    { v[NR] = $1 }
    END {
      k = int(0.99 * sent); if (k < 0.99 * sent) k++
      if (sent == 0 || k > NR) print "lost"; else printf "%.3f\n", v[k] * 1000
    }'
}

# measure NAME MODE ROUND [DNSPERF_ARGS...]: one recorded run; appends a row to the results TSV.
# MODE is "max" (saturation), "fixed" (-Q FIXED_RATE) or "p99" (a rate, with the latency probe).
measure() {
  local name=$1 mode=$2 round=$3 pid out cpu0 cpu1 gen0 gen1 t0 rc=0 p99=-
  shift 3
  pid=$(server_pid "$name")
  if ! alive "$pid"; then
    msg "$name is no longer running ($mode $round); log: $RUN/$name/out.log"
    return 1
  fi
  out=$RUN/$name/dnsperf-$mode$round.txt
  cpu0=$(tree_cpu_ticks "$pid")
  t0=$(now)
  local probe=$out.probe probe_pid=""
  if [[ $mode == p99 ]]; then
    timeout --kill-after=5 $((DURATION + 30)) "${CLIENT_PIN[@]}" dnsperf -s "$ADDR" -p "$(port_of "$name")" \
      -d "$DATA/queries.txt" -c 1 -T 1 -q 100 -t 1 -Q "$PROBE_RATE" -l "$DURATION" -v >"$probe" 2>&1 &
    probe_pid=$!
  fi
  times >"$out.times0"
  dnsperf_run "$name" "$DURATION" "$out" "$@" || rc=$?
  times >"$out.times1"
  [[ -z $probe_pid ]] || wait "$probe_pid" || msg "the latency probe against $name failed: $(tail -1 "$probe")"
  gen0=$(cpu_seconds_of_times "$out.times0")
  gen1=$(cpu_seconds_of_times "$out.times1")
  cpu1=$(tree_cpu_ticks "$pid")
  local wall
  wall=$(elapsed "$t0")
  if ((rc != 0)); then
    msg "dnsperf against $name failed (status $rc): $(tail -1 "$out")"
    return 1
  fi
  if [[ $mode == p99 ]]; then
    p99=$(p99_ms "$probe")
    # Keep the statistics, not every query's line.
    grep -v '^> ' "$probe" >"$probe.tmp" && mv "$probe.tmp" "$probe"
  fi
  local row
  row=$(awk -v names="$NAMES" -v server="$name" -v mode="$mode" -v round="$round" -v p99="$p99" \
    -v srv="$((cpu1 - cpu0))" -v hz="$CLK_TCK" \
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
      printf "%d\t%s\t%s\t%s\t%.0f\t%d\t%d\t%.3f\t%s\t%.3f\t%.3f\t%s\t%d\t%d\t%d\n", names, server, mode,
        round, qps, completed, lost, latency * 1000, p99, srv / hz, gen, wall, noerror, nxdomain, other
    }' "$out")
  printf '%s\n' "$row" >>"$RESULTS_TSV"
  awk -F'\t' '{ printf "%s %s %-9s %8.0f qps, lost %d, latency %.3f ms (p99 %s), server CPU %.2f s (%.1f us/query), dnsperf CPU %.2f s\n",
    $3, $4, $2, $5, $7, $8, $9, $10, ($6 > 0 ? $10 * 1e6 / $6 : 0), $11 }' <<<"$row" >&2
}

# median_qps NAME: the median QPS of NAME's saturation rounds at this size (nothing if none).
median_qps() {
  awk -F'\t' -v names="$NAMES" -v server="$1" '$1 == names && $2 == server && $3 == "max" { print $5 }' \
    "$RESULTS_TSV" | sort -g | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}

summarize() {
  /usr/bin/python3 - "$RESULTS_TSV" "$SERVER_TSV" "$LATENCY_PERCENT" <<'PYEOF'
import csv, math, statistics, sys

rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
info = {(r["names"], r["server"]): r for r in csv.DictReader(open(sys.argv[2]), delimiter="\t")}
NAN = float("nan")

def per_query_us(r, key):
    done = int(r["completed"])
    return float(r[key]) * 1e6 / done if done else NAN

def median(values):
    values = list(values)
    return statistics.median(values) if values else NAN

def fmt(v, spec="%.2f"):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else spec % v

def verdict(ok, text):
    return "- %s: %s" % ("met" if ok else "NOT met", text)

sizes = []
for r in rows:
    if r["names"] not in sizes:
        sizes.append(r["names"])
for names in sizes:
    order = []
    for r in rows:
        if r["names"] == names and r["server"] not in order:
            order.append(r["server"])
    st = {}
    for s in order:
        rs = [r for r in rows if r["names"] == names and r["server"] == s]
        sat = [r for r in rs if r["mode"] == "max"]
        fixed = [r for r in rs if r["mode"] == "fixed"]
        p99 = [r for r in rs if r["mode"] == "p99"]
        qps = [float(r["qps"]) for r in sat]
        sent = sum(int(r["completed"]) + int(r["lost"]) for r in sat)
        st[s] = {
            "median": median(qps), "min": min(qps) if qps else NAN, "max": max(qps) if qps else NAN,
            "runs": len(sat),
            "lost": 100.0 * sum(int(r["lost"]) for r in sat) / sent if sent else NAN,
            "cpu": median(per_query_us(r, "server_cpu_s") for r in sat),
            "cpu_fixed": median(per_query_us(r, "server_cpu_s") for r in fixed),
            "fixed_qps": median(float(r["qps"]) for r in fixed),
            "p99": p99[-1]["p99_ms"] if p99 else "-",
            "p99_qps": float(p99[-1]["qps"]) if p99 else NAN,
            "rss": int(info[(names, s)]["peak_rss_kib"]) / 1024.0 if (names, s) in info else NAN,
            "ready": float(info[(names, s)]["ready_s"]) if (names, s) in info else NAN,
        }
    ref = st.get("reflector")
    for s in order:
        x = st[s]
        x["ratio"] = x["median"] / ref["median"] if ref else NAN
        x["work"] = x["cpu"] - ref["cpu"] if ref else NAN
        x["work_fixed"] = x["cpu_fixed"] - ref["cpu_fixed"] if ref else NAN
    print("## %s names\n" % "{:,}".format(int(names)))
    print(("| server | median QPS | × reflector | min–max QPS | CPU µs/query at saturation "
           "| DNS work µs/query | CPU µs/query at fixed rate | DNS work at fixed rate "
          "| p99 ms at %s%% of our max | peak RSS MiB | start to serving s | lost %% | runs |"
          % sys.argv[3]))
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in order:
        x = st[s]
        print("| %s | %s | %s | %s–%s | %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            s, fmt(x["median"], "%.0f"), fmt(x["ratio"]), fmt(x["min"], "%.0f"), fmt(x["max"], "%.0f"),
            fmt(x["cpu"]), "(base)" if s == "reflector" else fmt(x["work"]), fmt(x["cpu_fixed"]),
            "(base)" if s == "reflector" else fmt(x["work_fixed"]), x["p99"], fmt(x["rss"], "%.1f"),
            fmt(x["ready"], "%.1f"), fmt(x["lost"]), x["runs"]))
    fixed = [st[s]["fixed_qps"] for s in order if not math.isnan(st[s]["fixed_qps"])]
    if fixed:
        print("\nFixed rate: achieved %s QPS (median per server)." % ", ".join(
            "%s %.0f" % (s, st[s]["fixed_qps"]) for s in order if not math.isnan(st[s]["fixed_qps"])))
    p99s = [s for s in order if st[s]["p99"] != "-"]
    if p99s:
        print("p99 run: achieved %s QPS under the probe." % ", ".join(
            "%s %.0f" % (s, st[s]["p99_qps"]) for s in p99s))
    g = st.get("globaldns")
    peers = [s for s in order if s in ("nsd", "knot")]
    if not g:
        print()
        continue
    print("\nTargets of issue 6 at this size (ratios from this run):")
    if ref:
        print(verdict(g["ratio"] >= 0.97, "max QPS ≥ 0.97 × reflector: %.3f" % g["ratio"]))
    if peers:
        best = max(peers, key=lambda s: st[s]["median"])
        r = g["median"] / st[best]["median"]
        print(verdict(r >= 1.0, "max QPS ≥ 1.0 × the better peer (%s): %.3f" % (best, r)))
        if ref:
            for key, label in (("work", "at saturation"), ("work_fixed", "at the fixed rate")):
                for p in peers:
                    if math.isnan(st[p][key]) or math.isnan(g[key]):
                        continue
                    r = g[key] / st[p][key] if st[p][key] > 0 else NAN
                    print(verdict(r <= 0.5, "DNS work ≤ 0.5 × %s's %s: %.2f vs %.2f µs (%.2f×)" % (
                        p, label, g[key], st[p][key], r)))
    if "nsd" in p99s and "globaldns" in p99s:
        a, b = g["p99"], st["nsd"]["p99"]
        ok = a != "lost" and (b == "lost" or float(a) <= float(b))
        print(verdict(ok, "p99 at %s%% of our max ≤ NSD's at the same rate: %s vs %s ms" % (
            sys.argv[3], a, b)))
    limit = {"100000": 25, "1000000": 150}.get(names)
    if limit and not math.isnan(g["rss"]):
        print(verdict(g["rss"] <= limit, "peak RSS ≤ %d MB: %.1f MiB" % (limit, g["rss"])))
    print()
PYEOF
}

# ---------------------------------------------------------------------------------------------

versions() {
  local s
  for s in "${READY[@]}"; do
    case $s in
      globaldns) printf 'globaldns: %s (built %s)\n' "$GDNS_BIN" "$(date -r "$GDNS_BIN" '+%F %T')" ;;
      nsd) printf '%s\n' "$(nsd -v 2>&1 | head -1)" ;;
      knot) printf '%s\n' "$(knotd -V 2>&1 | head -1)" ;;
      reflector) printf 'reflector: %s\n' "$REFLECTOR_BIN" ;;
    esac
  done
  printf 'dnsperf %s\n' "$(dnsperf -h 2>&1 | awk '/^Version/ { print $2; exit }')"
}

prepare_globaldns() {
  [[ " $SERVERS " == *" globaldns "* || " $SERVERS " == *" reflector "* ]] || return 0
  if [[ -n $GDNS_BIN ]]; then
    [[ -x $GDNS_BIN ]] || msg "-b $GDNS_BIN is not an executable"
    # The reflector of the same build tree (app/globaldns next to bench/reflector), if built.
    local sibling
    sibling=$(dirname "$GDNS_BIN")/../bench/reflector
    [[ ! -x $sibling ]] || REFLECTOR_BIN=$(realpath "$sibling")
    return 0
  fi
  msg "building globaldns and the reflector in $GLOBALDNS_ROOT/$RELEASE_DIR/"
  if ! (cd "$GLOBALDNS_ROOT" && configure "$RELEASE_DIR" "${RELEASE_ARGS[@]}" &&
    build_server "$RELEASE_DIR" && ninja -C "$RELEASE_DIR" reflector); then
    msg "the build failed (see above)"
  fi
  local bin
  if bin=$(cd "$GLOBALDNS_ROOT" && server_binary "$RELEASE_DIR"); then
    GDNS_BIN=$GLOBALDNS_ROOT/$bin
  fi
  [[ ! -x $GLOBALDNS_ROOT/$RELEASE_DIR/bench/reflector ]] ||
    REFLECTOR_BIN=$GLOBALDNS_ROOT/$RELEASE_DIR/bench/reflector
}

# prepare_reflector: with -b, or if the build made none, compile bench/reflector.c into OUTDIR.
prepare_reflector() {
  [[ " $SERVERS " == *" reflector "* && -z $REFLECTOR_BIN ]] || return 0
  local bin=$OUT/reflector
  if [[ ! -x $bin || $HERE/reflector.c -nt $bin ]]; then
    mkdir -p "$OUT"
    cc -O2 -Wall -Wextra -pthread -o "$bin" "$HERE/reflector.c" || {
      msg "could not compile bench/reflector.c"
      return 0
    }
  fi
  REFLECTOR_BIN=$bin
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
        reflector) skip "$name" "no binary (bench/reflector.c did not build)" ;;
      esac
      continue
    fi
    if port_in_use "$port"; then
      skip "$name" "UDP port $port is already in use by another process"
      continue
    fi
    local t0 ready_s
    t0=$(now)
    start_server "$name"
    if ! wait_ready "$name"; then
      skip "$name" "did not answer SOA on port $port; log tail: $(tail -3 "$RUN/$name/out.log" | tr '\n' ' ')"
      stop_server "$name"
      continue
    fi
    ready_s=$(elapsed "$t0")
    if [[ $name != reflector ]] && ! check_answers "$name"; then
      skip "$name" "wrong answers (above)"
      stop_server "$name"
      continue
    fi
    msg "up: $name on $ADDR:$port, pid $(server_pid "$name"), answering after $ready_s s, checks ok"
    printf '%s\t%s\t%s\n' "$NAMES" "$name" "$ready_s" >>"$RUN/ready.tsv"
    READY+=("$name")
  done
}

# measure_size: everything at one size (NAMES): start, rounds, fixed rate, p99, memory, stop.
measure_size() {
  READY=()
  SKIPPED=()
  RUN=$RUN_ROOT/n$NAMES
  mkdir -p "$RUN"
  prepare_data
  start_all
  if ((${#READY[@]} == 0)); then
    msg "no server to measure at $NAMES names"
    return 0
  fi

  local -i nready=${#READY[@]}
  msg "measuring ${READY[*]} at $NAMES names: $ROUNDS round(s) x ${DURATION} s, about $((nready * (WARMUP + (ROUNDS + 1) * (DURATION + 1)) + 2 * (DURATION + 1))) s"
  local name round
  for name in "${READY[@]}"; do
    ((WARMUP == 0)) || dnsperf_run "$name" "$WARMUP" "$RUN/$name/dnsperf-warmup.txt" || true
  done
  for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${READY[@]}"; do measure "$name" max "$round" || true; done
  done
  if ((FIXED_RATE > 0)); then
    for name in "${READY[@]}"; do measure "$name" fixed 1 -Q "$FIXED_RATE" || true; done
  fi
  local top rate
  top=$(median_qps globaldns)
  if ((LATENCY_PERCENT > 0)) && [[ -n $top ]]; then
    rate=$(awk -v q="$top" -v p="$LATENCY_PERCENT" 'BEGIN { printf "%d", q * p / 100 }')
    rate=$((rate > PROBE_RATE ? rate - PROBE_RATE : 1))
    for name in globaldns nsd; do
      [[ " ${READY[*]} " != *" $name "* ]] || measure "$name" p99 1 -Q "$rate" || true
    done
  fi
  for name in "${READY[@]}"; do
    if [[ ! -f $RUN/$name/pid ]] || ! alive "$(server_pid "$name")"; then continue; fi
    printf '%s\t%s\t%s\t%s\n' "$NAMES" "$name" "$(tree_peak_rss_kib "$(server_pid "$name")")" \
      "$(awk -v s="$name" '$2 == s { print $3 }' "$RUN/ready.tsv")" >>"$SERVER_TSV"
  done
  cleanup
  {
    printf -- '- %d names: %s queries (%s); %s\n' "$NAMES" "$(wc -l <"$DATA/queries.txt")" "$DATA" \
      "$(uptime | sed 's/.*load/load/')"
    local s
    for s in "${SKIPPED[@]}"; do printf -- '  - skipped %s\n' "$s"; done
  } >>"$NOTES"
}

main() {
  parse_args "$@"
  "$GLOBALDNS_ROOT/scripts/install-deps.sh" bench || die "packages missing (see above)"
  command -v dnsperf >/dev/null || die "dnsperf not found"
  command -v dig >/dev/null || die "dig not found"

  prepare_globaldns
  prepare_reflector
  local stamp
  stamp=$(date +%Y%m%d-%H%M%S)
  RUN_ROOT=$OUT/run-$stamp
  mkdir -p "$RUN_ROOT"
  RESULTS_TSV=$OUT/results-$stamp.tsv
  SERVER_TSV=$OUT/servers-$stamp.tsv
  NOTES=$RUN_ROOT/notes.md
  local report=$OUT/results-$stamp.md
  printf 'names\tserver\tmode\tround\tqps\tcompleted\tlost\tlatency_ms\tp99_ms\tserver_cpu_s\tdnsperf_cpu_s\twall_s\tnoerror\tnxdomain\tother_rcodes\n' >"$RESULTS_TSV"
  printf 'names\tserver\tpeak_rss_kib\tready_s\n' >"$SERVER_TSV"
  : >"$NOTES"
  local load_before
  load_before=$(uptime | sed 's/.*load/load/')

  trap cleanup EXIT
  trap 'cleanup; exit 130' INT TERM
  for NAMES in $SIZES; do measure_size; done

  {
    printf '# globaldns load comparison %s\n\n' "$stamp"
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf -- '- command: `%s`\n' "bench/compare.sh $*"
    printf -- '- queries: 80%% A hits, 10%% AAAA NODATA, 10%% NXDOMAIN, 25%% mixed case\n'
    # shellcheck disable=SC2016  # the backquotes are Markdown
    printf -- '- load: `dnsperf -s %s -p PORT -d queries.txt %s -l %s`, %d interleaved round(s), %d s warm-up; then one run per server at `-Q %s`; then globaldns and NSD at %s%% of globaldns'"'"'s median QPS with a light `-Q %s -v` probe alongside for the p99\n' \
      "$ADDR" "${DNSPERF_FLAGS[*]}" "$DURATION" "$ROUNDS" "$WARMUP" "$FIXED_RATE" "$LATENCY_PERCENT" "$PROBE_RATE"
    if [[ -n $PIN ]]; then
      printf -- '- host: %d cores, %s; pinned (-C %s): servers (%d threads/processes each) on CPUs %s, dnsperf on CPUs %s\n' \
        "$(nproc)" "$(uname -r)" "$PIN" "$THREADS" "${PIN%%:*}" "${PIN##*:}"
    else
      printf -- '- host: %d cores, %s; no CPU pinning: servers (%d threads/processes each) and dnsperf share all cores\n' \
        "$(nproc)" "$(uname -r)" "$THREADS"
    fi
    printf -- '- %s before, %s after\n' "$load_before" "$(uptime | sed 's/.*load/load/')"
    printf -- '- versions: %s\n' "$(versions | paste -sd ';' | sed 's/;/; /g')"
    cat "$NOTES"
    printf '\n'
    summarize
    printf 'Raw rows: %s and %s; server logs and dnsperf output: %s\n' "$RESULTS_TSV" "$SERVER_TSV" "$RUN_ROOT"
  } >"$report"
  cp "$report" "$OUT/latest.md"
  printf '\n' >&2
  cat "$report"
}

# Only when run: grpc_compare.sh and callgrind.sh source the functions above.
if [[ ${BASH_SOURCE[0]} == "$0" ]]; then main "$@"; fi
