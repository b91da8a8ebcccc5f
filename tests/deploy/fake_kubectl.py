#!/usr/bin/python3
"""A stand-in for kubectl in deploy tests: answers the few calls patch-cluster-dns.sh makes from
files in $FAKE_KUBE_DIR and records every call (one JSON array per line in `calls`)."""
import json
import os
import sys

state = os.environ["FAKE_KUBE_DIR"]
args = sys.argv[1:]
with open(os.path.join(state, "calls"), "a") as f:
    f.write(json.dumps(args) + "\n")
if args[:2] == ["--context", "ctx1"]:
    args = args[2:]


def serve(name):
    path = os.path.join(state, name)
    if not os.path.exists(path):
        print(f'Error from server (NotFound): "{name}" not found', file=sys.stderr)
        sys.exit(1)
    with open(path) as f:
        sys.stdout.write(f.read())


if args[:4] == ["get", "service", "-n", "istio-system"] and args[4] == "globaldns":
    serve("clusterIP")
elif args[:5] == ["get", "configmap", "-n", "kube-system", "coredns"]:
    serve("Corefile")
elif args[:5] == ["get", "configmap", "-n", "kube-system", "kube-dns"]:
    serve("kube-dns")
elif args[:5] == ["get", "deployment", "-n", "kube-system", "coredns"]:
    serve("image")
elif args[:5] == ["patch", "configmap", "-n", "kube-system", "coredns"]:
    assert args[5:8] == ["--type", "merge", "-p"], args
    with open(os.path.join(state, "patch.json"), "w") as f:
        f.write(args[8])
else:
    print("fake kubectl: unexpected call " + " ".join(args), file=sys.stderr)
    sys.exit(3)
