#!/usr/bin/python3
"""deploy/ checked offline: manifests parse and agree with each other and with the globaldns
config they carry; the cluster-DNS snippets are what `globaldns corefile-patch` writes; the
patch command and deploy/patch-cluster-dns.sh behave on real Corefiles (kubectl faked).

    deploy_test.py --binary build/app/globaldns --source .
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

ARGS = None


def src(*parts):
    return os.path.join(ARGS.source, *parts)


def load_docs(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def base_objects():
    """Every object the kustomize base lists, by (kind, name)."""
    with open(src("deploy", "base", "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    objects = {}
    for resource in kustomization["resources"]:
        for doc in load_docs(src("deploy", "base", resource)):
            objects[(doc["kind"], doc["metadata"]["name"])] = doc
    return kustomization, objects


def run(cmd, stdin=None, env=None, check=True):
    p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=60)
    if check and p.returncode != 0:
        raise AssertionError(f"{cmd} exited {p.returncode}: {p.stderr}")
    return p


def port_of(address):
    return int(address.rsplit(":", 1)[1])


class Manifests(unittest.TestCase):
    def setUp(self):
        self.kustomization, self.objects = base_objects()
        self.deployment = self.objects[("Deployment", "globaldns")]
        self.pod = self.deployment["spec"]["template"]["spec"]
        self.container = self.pod["containers"][0]
        self.config = yaml.safe_load(
            self.objects[("ConfigMap", "globaldns")]["data"]["globaldns.yaml"])

    def test_every_yaml_file_under_deploy_parses(self):
        count = 0
        for root, _, files in os.walk(src("deploy")):
            for name in files:
                if name.endswith((".yaml", ".yml")):
                    self.assertTrue(load_docs(os.path.join(root, name)), name)
                    count += 1
        self.assertGreaterEqual(count, 10)

    def test_base_is_in_istio_system_and_complete(self):
        self.assertEqual(self.kustomization["namespace"], "istio-system")
        kinds = sorted(kind for kind, _ in self.objects)
        self.assertEqual(kinds, ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment",
                                 "PodDisruptionBudget", "Service", "ServiceAccount"])

    def test_service_and_pdb_select_the_deployments_pods(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for kind in ("Service", "PodDisruptionBudget"):
            obj = self.objects[(kind, "globaldns")]
            selector = obj["spec"]["selector"]
            selector = selector.get("matchLabels", selector)
            self.assertTrue(selector.items() <= labels.items(), kind)
        self.assertTrue(self.deployment["spec"]["selector"]["matchLabels"].items() <= labels.items())

    def test_ports_agree_across_service_container_and_config(self):
        container_ports = {(p["name"], p["protocol"]): p["containerPort"]
                           for p in self.container["ports"]}
        named = {name: port for (name, _), port in container_ports.items()}
        service = self.objects[("Service", "globaldns")]
        wanted = {("dns", "UDP", 53), ("dns-tcp", "TCP", 53), ("grpc", "TCP", 8053),
                  ("metrics", "TCP", 9153)}
        got = {(p["name"], p["protocol"], p["port"]) for p in service["spec"]["ports"]}
        self.assertEqual(got, wanted)
        for p in service["spec"]["ports"]:
            self.assertIn((p["targetPort"], p["protocol"]), container_ports, p)
        self.assertEqual([port_of(a) for a in self.config["listen"]], [named["dns"]])
        self.assertEqual(named["dns"], named["dns-tcp"])
        for key in ("grpc", "metrics", "health", "ready"):
            self.assertEqual(port_of(self.config[key]), named[key], key)
            self.assertTrue(self.config[key].startswith("0.0.0.0:"), key)

    def test_probes_use_health_and_ready(self):
        self.assertEqual(self.container["livenessProbe"]["httpGet"],
                         {"path": "/health", "port": "health"})
        self.assertEqual(self.container["readinessProbe"]["httpGet"],
                         {"path": "/ready", "port": "ready"})

    def test_pod_is_hardened_and_never_resolves_through_cluster_dns(self):
        self.assertEqual(self.pod["dnsPolicy"], "Default")
        self.assertEqual(self.deployment["spec"]["replicas"], 2)
        self.assertIn("podAntiAffinity", self.pod["affinity"])
        self.assertTrue(self.pod["securityContext"]["runAsNonRoot"])
        self.assertEqual(self.pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault")
        sc = self.container["securityContext"]
        self.assertFalse(sc["allowPrivilegeEscalation"])
        self.assertTrue(sc["readOnlyRootFilesystem"])
        self.assertEqual(sc["capabilities"], {"drop": ["ALL"]})
        self.assertNotIn("add", sc["capabilities"])
        for key in ("requests", "limits"):
            self.assertIn("memory", self.container["resources"][key])
        # lameduck must fit in the grace period
        self.assertGreater(self.pod["terminationGracePeriodSeconds"] * 1000,
                           self.config["lameduck_ms"])
        self.assertEqual(self.container["volumeMounts"][0]["mountPath"] + "/globaldns.yaml",
                         self.container["args"][self.container["args"].index("--config") + 1])

    def test_rbac_reads_serviceentries_and_nothing_else(self):
        role = self.objects[("ClusterRole", "globaldns")]
        self.assertEqual(role["rules"], [{"apiGroups": ["networking.istio.io"],
                                          "resources": ["serviceentries"],
                                          "verbs": ["get", "list", "watch"]}])
        binding = self.objects[("ClusterRoleBinding", "globaldns")]
        self.assertEqual(binding["roleRef"]["name"], "globaldns")
        self.assertEqual(binding["subjects"], [{"kind": "ServiceAccount", "name": "globaldns",
                                                "namespace": "istio-system"}])
        self.assertEqual(self.pod["serviceAccountName"], "globaldns")

    def test_config_in_the_configmap_is_accepted_by_globaldns(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "globaldns.yaml")
            with open(path, "w") as f:
                f.write(self.objects[("ConfigMap", "globaldns")]["data"]["globaldns.yaml"])
            p = run([ARGS.binary, "check", "--config", path], check=False)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertTrue(self.config["kubernetes"]["in_cluster"])

    @unittest.skipUnless(shutil.which("kubectl"), "kubectl not installed (kubernetes-client)")
    def test_kubectl_kustomize_renders_the_base(self):
        p = run(["kubectl", "kustomize", src("deploy", "base")])
        rendered = [d for d in yaml.safe_load_all(p.stdout) if d]
        self.assertEqual(sorted((d["kind"], d["metadata"]["name"]) for d in rendered),
                         sorted(self.objects))
        for d in rendered:
            if d["kind"] not in ("ClusterRole", "ClusterRoleBinding"):
                self.assertEqual(d["metadata"]["namespace"], "istio-system", d["kind"])

    def test_tutorial_example_files(self):
        docs = load_docs(src("deploy", "examples", "tutorial", "httpbin-serviceentry.yaml"))
        se = docs[0]
        self.assertEqual(se["kind"], "ServiceEntry")
        self.assertEqual(se["spec"]["hosts"], ["httpbin.istio-testing.global"])
        self.assertEqual(se["spec"]["addresses"], ["240.0.0.2"])
        p = run([ARGS.binary, "check", "--files",
                 src("deploy", "examples", "tutorial", "httpbin-serviceentry.yaml")])
        self.assertIn("httpbin.istio-testing.global.", p.stdout)
        self.assertIn("240.0.0.2", p.stdout)
        operator = load_docs(src("deploy", "examples", "tutorial", "istio-operator.yaml"))[0]
        self.assertEqual(operator["kind"], "IstioOperator")
        self.assertFalse(operator["spec"]["addonComponents"]["istiocoredns"]["enabled"])
        self.assertIn("global", operator["spec"]["values"]["global"]["podDNSSearchNamespaces"])


SANITIZER_RUNTIMES = ("libasan", "libubsan", "libtsan", "liblsan")


class Dockerfile(unittest.TestCase):
    """No Docker engine runs here; what can be checked is that the runtime stage installs a
    package for every shared library the binary needs."""

    def test_runtime_stage_installs_every_library_the_binary_links(self):
        with open(src("Dockerfile")) as f:
            text = f.read().replace("\\\n", " ")
        runtime = text[text.index("FROM debian:12-slim"):]
        install = runtime[runtime.index("apt-get install"):].split("&&")[0].split()
        packages = {w for w in install if not w.startswith("-")} - {"apt-get", "install"}
        ldd = run(["ldd", ARGS.binary]).stdout
        if any(runtime in ldd for runtime in SANITIZER_RUNTIMES):
            # Its libraries are not the image's: -O1 links more (Boost.URL, Boost.Container)
            # and the sanitizers' runtimes. The Release build's run of this test checks them.
            self.skipTest("a sanitizer build; the image is built in Release")
        paths = [line.split("=>")[1].split()[0] for line in ldd.splitlines() if "=>" in line]
        # usrmerge: dpkg knows the /usr/lib paths; one call, libraries from no package ignored
        owners = run(["dpkg", "-S", *("/usr" + p if p.startswith("/lib") else p for p in paths)],
                     check=False).stdout
        base = {"libc6", "libgcc-s1"}  # in debian:12-slim already
        found = 0
        for line in owners.splitlines():
            package, path = line.split(": ", 1)
            package = package.split(":")[0]  # drop the :amd64
            self.assertIn(package, packages | base, f"{path} (from {package}) is not installed")
            found += 1
        self.assertGreaterEqual(found, len(base))
        self.assertIn("USER 65532:65532", runtime)


class CorefilePatchCommand(unittest.TestCase):
    def patch(self, *args, stdin="", check=True):
        return run([ARGS.binary, "corefile-patch", *args], stdin=stdin, check=check)

    def test_snippets_are_what_the_command_writes(self):
        cases = {"coredns-forward.Corefile": [],
                 "coredns-proxy.Corefile": ["--coredns-version", "1.3.1"],
                 "coredns-grpc.Corefile": ["--grpc"]}
        for name, extra in cases.items():
            with open(src("deploy", "cluster-dns", name)) as f:
                text = f.read()
            block = text[text.index("# globaldns:"):].replace("GLOBALDNS_IP", "10.96.0.20")
            self.assertEqual(self.patch("--target", "10.96.0.20", *extra).stdout, block, name)

    def test_file_and_stdin_give_the_same_bytes(self):
        path = src("tests", "data", "corefile", "kubeadm-1.28.Corefile")
        with open(path) as f:
            text = f.read()
        a = self.patch("--target", "10.96.0.20", path).stdout
        b = self.patch("--target", "10.96.0.20", "-", stdin=text).stdout
        self.assertEqual(a, b)
        self.assertTrue(a.startswith(text))

    def test_errors_and_exit_codes(self):
        p = self.patch("--target", "10.96.0.20", stdin=".:53 {\n", check=False)
        self.assertEqual((p.returncode, p.stdout), (1, ""))
        self.assertIn("never closed", p.stderr)
        self.assertEqual(self.patch(check=False).returncode, 2)  # no --target
        self.assertEqual(self.patch("--target", "x", check=False).returncode, 1)
        self.assertEqual(self.patch("--revert", "--target", "1.2.3.4", check=False).returncode, 2)
        self.assertEqual(self.patch("--target", "1.2.3.4", "/nonexistent", check=False).returncode,
                         1)


class PatchClusterDnsScript(unittest.TestCase):
    """deploy/patch-cluster-dns.sh against a fake kubectl."""

    def setUp(self):
        self.dir = tempfile.mkdtemp()
        self.bin = os.path.join(self.dir, "bin")
        os.mkdir(self.bin)
        os.symlink(src("tests", "deploy", "fake_kubectl.py"), os.path.join(self.bin, "kubectl"))
        self.state = os.path.join(self.dir, "state")
        os.mkdir(self.state)
        self.write("clusterIP", "10.96.0.20")
        self.write("image", "registry.k8s.io/coredns/coredns:v1.10.1")
        with open(src("tests", "data", "corefile", "kubeadm-1.28.Corefile")) as f:
            self.corefile = f.read()
        self.write("Corefile", self.corefile)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def write(self, name, text):
        with open(os.path.join(self.state, name), "w") as f:
            f.write(text)

    def script(self, *args):
        env = dict(os.environ, FAKE_KUBE_DIR=self.state, GLOBALDNS=ARGS.binary,
                   PATH=self.bin + os.pathsep + os.environ["PATH"])
        return run([src("deploy", "patch-cluster-dns.sh"), *args], env=env, check=False)

    def patched(self):
        path = os.path.join(self.state, "patch.json")
        if not os.path.exists(path):
            return None
        with open(path) as f:
            return json.load(f)["data"]["Corefile"]

    def expected(self, *args):
        return run([ARGS.binary, "corefile-patch", *args], stdin=self.corefile).stdout

    def test_dry_run_shows_the_diff_and_changes_nothing(self):
        p = self.script()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("+    forward . 10.96.0.20:53", p.stdout)
        self.assertIn("--apply", p.stderr)
        self.assertIsNone(self.patched())

    def test_apply_patches_only_the_corefile_key(self):
        p = self.script("--apply")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.patched(), self.expected("--target", "10.96.0.20",
                                                       "--coredns-version", "1.10.1"))
        # Applied once, a second run has nothing to do.
        self.write("Corefile", self.patched())
        os.remove(os.path.join(self.state, "patch.json"))
        p = self.script("--apply")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("nothing to do", p.stderr)
        self.assertIsNone(self.patched())
        # And --revert restores the original.
        p = self.script("--revert", "--apply")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.patched(), self.corefile)

    def test_old_coredns_gets_proxy_and_grpc_gets_grpc(self):
        self.write("image", "k8s.gcr.io/coredns:1.3.1")
        p = self.script("--apply")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("    proxy . 10.96.0.20:53\n", self.patched())
        self.write("image", "registry.k8s.io/coredns/coredns:v1.10.1")
        p = self.script("--apply", "--grpc", "--context", "ctx1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("    grpc . 10.96.0.20:8053\n", self.patched())

    def test_kube_dns_cluster_gets_advice_not_a_change(self):
        os.remove(os.path.join(self.state, "Corefile"))
        self.write("kube-dns", "")
        p = self.script("--apply")
        self.assertEqual(p.returncode, 1)
        self.assertIn('{"global": ["10.96.0.20"]}', p.stderr)
        self.assertIsNone(self.patched())

    def test_refused_corefile_changes_nothing(self):
        self.write("Corefile", "global:53 example.org:53 {\n    whoami\n}\n")
        p = self.script("--apply")
        self.assertEqual(p.returncode, 1)
        self.assertIn("together with other zones", p.stderr)
        self.assertIsNone(self.patched())

    def test_missing_service_is_a_clear_error(self):
        os.remove(os.path.join(self.state, "clusterIP"))
        p = self.script()
        self.assertEqual(p.returncode, 1)
        self.assertIn("istio-system/globaldns", p.stderr)


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--source", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.binary = os.path.abspath(ARGS.binary)
    ARGS.source = os.path.abspath(ARGS.source)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
