#!/usr/bin/env bash
# patch-cluster-dns.sh: send the cluster DNS's `global` zone to globaldns, changing nothing else.
#
#   deploy/patch-cluster-dns.sh [--apply] [--grpc] [--revert] [--context CTX]
#                               [--namespace NS] [--service NAME]
#
# Fetches the live kube-system `coredns` ConfigMap, looks up the globaldns Service's ClusterIP
# (NS/NAME, default istio-system/globaldns) and the CoreDNS version (from the coredns
# Deployment's image tag, which chooses `forward` or `proxy`), runs
# `globaldns corefile-patch` on the Corefile, and shows the diff. Only with --apply is the
# ConfigMap changed (a merge patch of data.Corefile alone). --revert removes the block again.
# --grpc sends the zone over CoreDNS's gRPC DnsService (port 8053) instead of DNS.
#
# The patch runs with a local `globaldns` binary ($GLOBALDNS, or `globaldns` in PATH), or else
# inside the running globaldns pod (`kubectl exec`). Needs kubectl, diff, and jq or python3.
# Clusters still on kube-dns get the stubDomains change printed (it replaces a JSON map that
# may hold other domains, so it is left to a person).
#
# Exit status: 0 done (or nothing to do), 1 a step failed, 2 bad usage.
set -euo pipefail

readonly SCRIPT_NAME=patch-cluster-dns.sh
msg() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() {
  msg "error: $*"
  exit 1
}
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

apply=0 grpc=0 revert=0 namespace=istio-system service=globaldns
tmp=""  # global: the EXIT trap runs after main has returned
kubectl_args=()

kc() { kubectl "${kubectl_args[@]}" "$@"; }

# corefile_patch ARGS...: the patch command, local if there is a binary, else in the pod.
corefile_patch() {
  local bin=${GLOBALDNS:-}
  [[ -n $bin ]] || bin=$(command -v globaldns || true)
  if [[ -n $bin ]]; then
    "$bin" corefile-patch "$@"
  else
    kc exec -i -n "$namespace" "deploy/$service" -- globaldns corefile-patch "$@"
  fi
}

# json_corefile_patch FILE: {"data":{"Corefile":<contents>}} for kubectl patch --type merge.
json_corefile_patch() {
  if command -v jq >/dev/null; then
    jq -Rs '{data: {Corefile: .}}' <"$1"
  elif command -v python3 >/dev/null; then
    python3 -c 'import json, sys; print(json.dumps({"data": {"Corefile": sys.stdin.read()}}))' <"$1"
  else
    die "need jq or python3 to encode the Corefile for kubectl patch"
  fi
}

kube_dns_advice() {
  local ip=$1
  msg "no kube-system/coredns ConfigMap: this cluster looks like kube-dns (dnsmasq)."
  msg "add \"global\": [\"$ip\"] to data.stubDomains of kube-system/kube-dns, e.g.:"
  printf '  kubectl%s -n kube-system edit configmap kube-dns\n' "${kubectl_args[*]:+ ${kubectl_args[*]}}" >&2
  printf '  stubDomains: |\n    {"global": ["%s"]}\n' "$ip" >&2
  msg "(see deploy/cluster-dns/kube-dns-stubdomains.yaml)"
}

main() {
  while (($#)); do
    case $1 in
      --apply) apply=1 ;;
      --grpc) grpc=1 ;;
      --revert) revert=1 ;;
      --context)
        (($# >= 2)) || { msg "--context needs a value"; exit 2; }
        kubectl_args+=(--context "$2")
        shift
        ;;
      --namespace)
        (($# >= 2)) || { msg "--namespace needs a value"; exit 2; }
        namespace=$2
        shift
        ;;
      --service)
        (($# >= 2)) || { msg "--service needs a value"; exit 2; }
        service=$2
        shift
        ;;
      -h | --help)
        usage
        return 0
        ;;
      *)
        msg "unknown argument '$1'"
        usage >&2
        exit 2
        ;;
    esac
    shift
  done
  command -v kubectl >/dev/null || die "kubectl not found"

  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT

  local -a patch_args=()
  if ((revert)); then
    patch_args=(--revert)
  else
    local ip
    ip=$(kc get service -n "$namespace" "$service" -o 'jsonpath={.spec.clusterIP}') ||
      die "cannot read the Service $namespace/$service (is globaldns installed? kubectl apply -k deploy/base)"
    [[ -n $ip && $ip != None ]] || die "the Service $namespace/$service has no ClusterIP"
    patch_args=(--target "$ip")
    ((grpc)) && patch_args+=(--grpc)
  fi

  if ! kc get configmap -n kube-system coredns -o 'jsonpath={.data.Corefile}' >"$tmp/Corefile"; then
    if kc get configmap -n kube-system kube-dns >/dev/null 2>&1 && ((!revert)); then
      kube_dns_advice "${ip:-GLOBALDNS_IP}"
      return 1
    fi
    die "cannot read the ConfigMap kube-system/coredns"
  fi

  if ((!revert)); then
    local image version
    image=$(kc get deployment -n kube-system coredns \
      -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>/dev/null || true)
    version=${image##*:}
    version=${version#v}
    if [[ -n $image && $version =~ ^[0-9]+\.[0-9]+(\.[0-9]+)?$ ]]; then
      msg "CoreDNS $version ($image)"
      patch_args+=(--coredns-version "$version")
    else
      msg "CoreDNS version unknown (image '${image:-?}'): assuming 1.5 or later (forward)"
    fi
  fi

  corefile_patch "${patch_args[@]}" <"$tmp/Corefile" >"$tmp/Corefile.new" ||
    die "globaldns corefile-patch refused the Corefile (see above); nothing changed"

  if cmp -s "$tmp/Corefile" "$tmp/Corefile.new"; then
    msg "kube-system/coredns is already as wanted; nothing to do"
    return 0
  fi
  diff -u --label coredns/Corefile --label coredns/Corefile.patched \
    "$tmp/Corefile" "$tmp/Corefile.new" || true

  if ((!apply)); then
    msg "not changed: run again with --apply to patch kube-system/coredns"
    return 0
  fi
  json_corefile_patch "$tmp/Corefile.new" >"$tmp/patch.json"
  kc patch configmap -n kube-system coredns --type merge -p "$(cat "$tmp/patch.json")" ||
    die "kubectl patch failed"
  msg "patched kube-system/coredns; CoreDNS's reload plugin picks it up within about 45 s"
  msg "(no reload plugin in the Corefile? kubectl -n kube-system rollout restart deployment/coredns)"
}

main "$@"
