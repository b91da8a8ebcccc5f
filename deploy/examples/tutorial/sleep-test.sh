#!/usr/bin/env bash
# The tutorial's check, from the sleep pod in cluster1 (untested here: no cluster on this
# machine). Expect 240.0.0.2 from nslookup and an HTTP 200 from httpbin through the gateway.
set -euo pipefail
ctx=${CTX_CLUSTER1:?set CTX_CLUSTER1 to the kubectl context of cluster1}
pod=$(kubectl --context="$ctx" get pod -n istio-testing -l app=sleep -o jsonpath='{.items[0].metadata.name}')
kubectl --context="$ctx" exec -n istio-testing "$pod" -c sleep -- nslookup httpbin.istio-testing.global
kubectl --context="$ctx" exec -n istio-testing "$pod" -c sleep -- \
  curl -sS -o /dev/null -w '%{http_code}\n' http://httpbin.istio-testing.global:8000/headers
