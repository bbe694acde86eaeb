"""Validates the deployment files in deploy/: the Kubernetes manifests (deploy/k8s), the compose
file with its Prometheus configuration, and the Dockerfile.

Parses every file and checks the fields each kind needs and the references between them (a
Service selects the StatefulSet's pods, a probe's port is a container port, a mounted ConfigMap
exists and holds the key a flag names, the Job's shard count equals its completions, ...).
Each check also runs against a broken copy of the manifests to show that it fails there.

Run: python3 tests/deploy/validate_deploy.py [DEPLOY_DIR]   (ctest: deploy_manifests)
"""

import copy
import os
import re
import sys
import unittest

import yaml

DEPLOY = os.environ.get(
    "FIXMINE_DEPLOY_DIR",
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy"))

API_VERSIONS = {
    "ConfigMap": "v1",
    "Service": "v1",
    "PersistentVolumeClaim": "v1",
    "StatefulSet": "apps/v1",
    "Job": "batch/v1",
    "Kustomization": "kustomize.config.k8s.io/v1beta1",
}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def load_k8s(deploy_dir):
    """Returns {file name: [documents]} for every YAML file in deploy_dir/k8s."""
    k8s = os.path.join(deploy_dir, "k8s")
    out = {}
    for name in sorted(os.listdir(k8s)):
        if name.endswith((".yaml", ".yml")):
            with open(os.path.join(k8s, name)) as f:
                out[name] = [d for d in yaml.safe_load_all(f) if d is not None]
    return out


def load_all(deploy_dir):
    with open(os.path.join(deploy_dir, "compose.yaml")) as f:
        compose = yaml.safe_load(f)
    with open(os.path.join(deploy_dir, "prometheus.yml")) as f:
        prometheus = yaml.safe_load(f)
    with open(os.path.join(deploy_dir, "Dockerfile")) as f:
        dockerfile = f.read()
    return {"k8s": load_k8s(deploy_dir), "compose": compose, "prometheus": prometheus,
            "dockerfile": dockerfile, "dir": deploy_dir}


def flag_value(args, flag):
    """The value of --flag in an argument list (--flag=V or --flag V), or None."""
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return str(args[i + 1])
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return None


def check_k8s(k8s, errors):
    objects = {}
    for fname, docs in k8s.items():
        for d in docs:
            where = f"k8s/{fname}"
            if not isinstance(d, dict):
                errors.append(f"{where}: a document is not a mapping")
                continue
            kind = d.get("kind")
            if kind not in API_VERSIONS:
                errors.append(f"{where}: unknown or missing kind {kind!r}")
                continue
            if d.get("apiVersion") != API_VERSIONS[kind]:
                errors.append(f"{where}: {kind} needs apiVersion {API_VERSIONS[kind]}, "
                              f"has {d.get('apiVersion')!r}")
            if kind == "Kustomization":
                for r in d.get("resources", []):
                    if r not in k8s:
                        errors.append(f"{where}: resource {r} is not a file in deploy/k8s")
                continue
            name = (d.get("metadata") or {}).get("name", "")
            if not DNS_LABEL.match(str(name)):
                errors.append(f"{where}: {kind} metadata.name {name!r} is not a DNS label")
            if (kind, name) in objects:
                errors.append(f"{where}: {kind} {name} is defined twice")
            objects[(kind, name)] = d
    configmaps = {n: (d.get("data") or {}) for (k, n), d in objects.items() if k == "ConfigMap"}
    pvcs = {n for (k, n) in objects if k == "PersistentVolumeClaim"}
    services = {n: d for (k, n), d in objects.items() if k == "Service"}
    templates = {}  # workload name -> (pod template, container ports by name and number)

    for (kind, name), d in objects.items():
        where = f"{kind} {name}"
        spec = d.get("spec") or {}
        if kind == "ConfigMap":
            for k, v in (d.get("data") or {}).items():
                if not isinstance(v, str):
                    errors.append(f"{where}: data.{k} must be a string, is {type(v).__name__}")
        if kind == "PersistentVolumeClaim":
            check_claim_spec(where, spec, errors)
        if kind not in ("StatefulSet", "Job"):
            continue
        template = spec.get("template") or {}
        pod = template.get("spec") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        claim_names = set()
        if kind == "StatefulSet":
            if spec.get("replicas") != 1:
                errors.append(f"{where}: replicas must be 1 (RocksDB has one writer), "
                              f"is {spec.get('replicas')!r}")
            match = (spec.get("selector") or {}).get("matchLabels") or {}
            if not match or any(labels.get(k) != v for k, v in match.items()):
                errors.append(f"{where}: selector.matchLabels {match} do not select the pod "
                              f"template's labels {labels}")
            governing = services.get(spec.get("serviceName"))
            if governing is None or (governing.get("spec") or {}).get("clusterIP") != "None":
                errors.append(f"{where}: serviceName {spec.get('serviceName')!r} is not a "
                              "headless Service in deploy/k8s")
            for t in spec.get("volumeClaimTemplates") or []:
                claim_names.add((t.get("metadata") or {}).get("name"))
                check_claim_spec(f"{where} volumeClaimTemplate", t.get("spec") or {}, errors)
            if not claim_names:
                errors.append(f"{where}: no volumeClaimTemplates for the store")
        if kind == "Job":
            check_job(where, spec, pod, configmaps, errors)
        ports = check_pod(where, pod, configmaps, pvcs, claim_names, kind, errors)
        templates[name] = (labels, ports)

    for name, d in services.items():
        where = f"Service {name}"
        spec = d.get("spec") or {}
        selector = spec.get("selector") or {}
        matched = [(labels, ports) for labels, ports in templates.values()
                   if selector and all(labels.get(k) == v for k, v in selector.items())]
        if not matched:
            errors.append(f"{where}: selector {selector} selects no pod template in deploy/k8s")
            continue
        for p in spec.get("ports") or []:
            target = p.get("targetPort", p.get("port"))
            if not any(target in ports for _, ports in matched):
                errors.append(f"{where}: port {p.get('name')} targets {target!r}, which is not "
                              "a container port of the selected pods")


def check_claim_spec(where, spec, errors):
    if not spec.get("accessModes"):
        errors.append(f"{where}: no accessModes")
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        errors.append(f"{where}: no resources.requests.storage")


def check_pod(where, pod, configmaps, pvcs, claim_names, kind, errors):
    """Checks one pod spec; returns its container ports (names and numbers)."""
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for v in volumes.values():
        if "configMap" in v and v["configMap"].get("name") not in configmaps:
            errors.append(f"{where}: volume {v['name']} mounts ConfigMap "
                          f"{v['configMap'].get('name')!r}, which deploy/k8s does not define")
        if ("persistentVolumeClaim" in v
                and v["persistentVolumeClaim"].get("claimName") not in pvcs):
            errors.append(f"{where}: volume {v['name']} claims "
                          f"{v['persistentVolumeClaim'].get('claimName')!r}, which deploy/k8s "
                          "does not define")
    security = pod.get("securityContext") or {}
    if security.get("runAsNonRoot") is not True or security.get("runAsUser") in (None, 0):
        errors.append(f"{where}: the pod must run as a non-root user (runAsNonRoot, runAsUser)")
    if kind == "Job" and pod.get("restartPolicy") not in ("Never", "OnFailure"):
        errors.append(f"{where}: a Job's restartPolicy must be Never or OnFailure")
    containers = pod.get("containers") or []
    if not containers:
        errors.append(f"{where}: no containers")
    ports = set()
    for c in containers:
        cw = f"{where} container {c.get('name')!r}"
        if not c.get("name") or not c.get("image"):
            errors.append(f"{cw}: needs a name and an image")
        for p in c.get("ports") or []:
            if not isinstance(p.get("containerPort"), int):
                errors.append(f"{cw}: containerPort {p.get('containerPort')!r} is not a number")
            ports.add(p.get("containerPort"))
            if p.get("name"):
                ports.add(p["name"])
        paths = set()
        for m in c.get("volumeMounts") or []:
            if m.get("name") not in volumes and m.get("name") not in claim_names:
                errors.append(f"{cw}: volumeMount {m.get('name')!r} names no volume")
            if m.get("mountPath") in paths:
                errors.append(f"{cw}: two volumes mounted at {m.get('mountPath')}")
            paths.add(m.get("mountPath"))
        env = {e.get("name") for e in c.get("env") or []}
        for e in c.get("env") or []:
            ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
            if ref and ref.get("key") not in configmaps.get(ref.get("name"), {}):
                errors.append(f"{cw}: env {e['name']} reads {ref.get('name')}/{ref.get('key')}, "
                              "which deploy/k8s does not define")
        for src in c.get("envFrom") or []:
            name = (src.get("configMapRef") or {}).get("name")
            if name is not None:
                if name not in configmaps:
                    errors.append(f"{cw}: envFrom names ConfigMap {name!r}, which deploy/k8s "
                                  "does not define")
                env |= set(configmaps.get(name, {}))
        for arg in [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]:
            for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg):
                if var not in env:
                    errors.append(f"{cw}: argument {arg!r} uses $({var}), which no env or "
                                  "ConfigMap key defines")
        if kind == "StatefulSet":
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                p = c.get(probe)
                if not p or "grpc" not in p:
                    errors.append(f"{cw}: needs a native gRPC {probe}")
                elif p["grpc"].get("port") not in ports:
                    errors.append(f"{cw}: {probe} checks port {p['grpc'].get('port')!r}, which "
                                  "is not a container port")
            if not any(m.get("name") in claim_names for m in c.get("volumeMounts") or []):
                errors.append(f"{cw}: the volume claim is not mounted")
    return ports


def check_job(where, spec, pod, configmaps, errors):
    if spec.get("completionMode") != "Indexed":
        errors.append(f"{where}: completionMode must be Indexed (the shard index is "
                      "JOB_COMPLETION_INDEX)")
    completions = spec.get("completions")
    if not isinstance(completions, int) or completions < 1:
        errors.append(f"{where}: completions must be a positive number, is {completions!r}")
    parallelism = spec.get("parallelism", 1)
    if not isinstance(parallelism, int) or parallelism < 1 or (
            isinstance(completions, int) and parallelism > completions):
        errors.append(f"{where}: parallelism {parallelism!r} must be 1..completions")
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    for c in pod.get("containers") or []:
        argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
        if "dataset" in argv:
            check_dataset_job(where, argv, completions, pod, errors)
            continue
        if "extract" not in argv:
            errors.append(f"{where}: the container does not run fixmine extract or fixmine "
                          "dataset")
            continue
        mounts = {m.get("mountPath"): volumes.get(m.get("name"), {})
                  for m in c.get("volumeMounts") or []}
        if flag_value(argv, "--shard-index") is not None:
            errors.append(f"{where}: --shard-index is set; each pod takes JOB_COMPLETION_INDEX")
        shards = flag_value(argv, "--shard-count")
        if shards != str(completions):
            errors.append(f"{where}: --shard-count {shards!r} differs from completions "
                          f"{completions!r}")
        repo_list = flag_value(argv, "--repo-list") or ""
        cm = mounts.get(os.path.dirname(repo_list), {}).get("configMap")
        if not cm or os.path.basename(repo_list) not in configmaps.get(cm.get("name"), {}):
            errors.append(f"{where}: --repo-list {repo_list!r} is not a key of a mounted "
                          "ConfigMap")
        out = flag_value(argv, "--out")
        if "persistentVolumeClaim" not in mounts.get(out, {}):
            errors.append(f"{where}: --out {out!r} is not a mounted volume claim")


DATASET_STAGES = {"signatures": "--map-shards", "buckets": "--partitions", "clusters": None,
                  "filter": "--map-shards", "card": None}


def check_dataset_job(where, argv, completions, pod, errors):
    """A `fixmine dataset STAGE` Indexed Job (deploy/k8s/dataset-jobs.yaml, docs/scale-out.md)."""
    at = argv.index("dataset")
    stage = argv[at + 1] if at + 1 < len(argv) else ""
    if stage not in DATASET_STAGES:
        errors.append(f"{where}: fixmine dataset {stage!r} is not a stage "
                      f"({', '.join(DATASET_STAGES)})")
        return
    if flag_value(argv, "--shard-index") is not None:
        errors.append(f"{where}: --shard-index is set; each pod takes JOB_COMPLETION_INDEX")
    for flag in ("--map-shards", "--partitions", "--dir"):
        if flag_value(argv, flag) is None:
            errors.append(f"{where}: fixmine dataset {stage} needs {flag}")
    count_flag = DATASET_STAGES[stage]
    tasks = flag_value(argv, count_flag) if count_flag else "1"
    if tasks != str(completions):
        errors.append(f"{where}: the {stage} stage has {tasks!r} tasks "
                      f"({count_flag or 'one task'}) but completions is {completions!r}")
    shard_count = flag_value(argv, "--shard-count")
    if shard_count is not None and shard_count != str(completions):
        errors.append(f"{where}: --shard-count {shard_count!r} differs from completions "
                      f"{completions!r}")
    volumes = {v.get("name"): v for v in pod.get("volumes") or []}
    mounts = {}
    for c in pod.get("containers") or []:
        for m in c.get("volumeMounts") or []:
            mounts[m.get("mountPath")] = volumes.get(m.get("name"), {})
    folder = flag_value(argv, "--dir") or ""
    if "persistentVolumeClaim" not in mounts.get(folder, {}):
        errors.append(f"{where}: --dir {folder!r} is not a mounted volume claim")
    if "persistentVolumeClaim" not in mounts.get(folder.rstrip("/") + "/map", {}):
        errors.append(f"{where}: --dir {folder!r}/map (the map shards) is not a mounted volume "
                      "claim")


def check_dataset_counts(k8s, errors):
    """Every dataset stage agrees with the extract Job and the others on N and B."""
    shards, partitions = {}, {}
    for fname, docs in k8s.items():
        for d in docs:
            if not isinstance(d, dict) or d.get("kind") != "Job":
                continue
            name = (d.get("metadata") or {}).get("name")
            pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
            for c in pod.get("containers") or []:
                argv = [str(a) for a in (c.get("command") or []) + (c.get("args") or [])]
                if "dataset" in argv:
                    shards[name] = flag_value(argv, "--map-shards")
                    partitions[name] = flag_value(argv, "--partitions")
                elif "extract" in argv:
                    shards[name] = flag_value(argv, "--shard-count")
    if len(set(shards.values())) > 1:
        errors.append(f"the dataset Jobs' --map-shards and the extract Job's --shard-count "
                      f"differ: {shards}")
    if len(set(partitions.values())) > 1:
        errors.append(f"the dataset Jobs' --partitions differ: {partitions}")


def check_compose(compose, prometheus, deploy_dir, errors):
    services = compose.get("services") or {}
    declared = set((compose.get("volumes") or {}).keys())
    for name, s in services.items():
        if not s.get("image") and not s.get("build"):
            errors.append(f"compose service {name}: needs an image or a build")
        for v in s.get("volumes") or []:
            source = str(v).split(":")[0]
            if not source.startswith((".", "/", "$")) and source not in declared:
                errors.append(f"compose service {name}: volume {source!r} is not declared "
                              "under volumes")
    server = services.get("fixmined")
    if server is None:
        errors.append("compose: no fixmined service")
        return
    build = server.get("build") or {}
    dockerfile = os.path.join(deploy_dir, build.get("context", "."),
                              build.get("dockerfile", "Dockerfile"))
    if not os.path.isfile(dockerfile):
        errors.append(f"compose fixmined: build file {dockerfile} does not exist")
    if not any(str(v).split(":")[1:2] == ["/var/lib/fixmine"]
               and str(v).split(":")[0] in declared for v in server.get("volumes") or []):
        errors.append("compose fixmined: no named volume at /var/lib/fixmine")
    if "health" not in ((server.get("healthcheck") or {}).get("test") or []):
        errors.append("compose fixmined: the healthcheck does not run fixmine health")
    metrics = flag_value([str(a) for a in server.get("command") or []], "--metrics-listen")
    prom = services.get("prometheus")
    if prom is None or metrics is None:
        errors.append("compose: needs a prometheus service and fixmined --metrics-listen")
        return
    config = None
    for v in prom.get("volumes") or []:
        parts = str(v).split(":")
        if len(parts) >= 2 and parts[1] == "/etc/prometheus/prometheus.yml":
            config = os.path.join(deploy_dir, parts[0])
    if config is None or not os.path.isfile(config):
        errors.append(f"compose prometheus: its configuration file {config!r} is not mounted "
                      "or does not exist")
    targets = [t for job in prometheus.get("scrape_configs") or []
               for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
    want = "fixmined:" + metrics.rsplit(":", 1)[-1]
    if want not in targets:
        errors.append(f"prometheus.yml: no scrape target {want} (fixmined --metrics-listen "
                      f"{metrics}); targets are {targets}")


def check_dockerfile(text, errors):
    lines = [l.strip() for l in re.sub(r"\\\n", " ", text).splitlines()]
    lines = [l for l in lines if l and not l.startswith("#")]
    if not lines or not re.match(r"ARG BASE_IMAGE(=|$)", lines[0]):
        errors.append("Dockerfile: must start with ARG BASE_IMAGE (the base image is a build arg)")
    stages = [l for l in lines if l.upper().startswith("FROM ")]
    if len(stages) < 2 or any("${BASE_IMAGE}" not in s for s in stages):
        errors.append("Dockerfile: needs a build and a runtime stage, both FROM ${BASE_IMAGE}")
    build = text.split(stages[-1])[0] if stages else ""
    runtime = text.split(stages[-1])[-1] if stages else ""
    if "deploy/install-deps.sh" not in build:
        errors.append("Dockerfile: the build stage does not use deploy/install-deps.sh")
    if "ARG JOBS" not in build:
        errors.append("Dockerfile: the build stage has no JOBS build argument")
    user = re.search(r"^USER\s+(\S+)", runtime, re.M)
    if not user or user.group(1).split(":")[0] in ("0", "root"):
        errors.append("Dockerfile: the runtime stage must set a non-root USER")
    if not re.search(r"^VOLUME\s+.*?/var/lib/fixmine", runtime, re.M):
        errors.append("Dockerfile: /var/lib/fixmine is not a VOLUME")
    if not re.search(r"^HEALTHCHECK\s.*CMD.*fixmine.*health", runtime, re.M):
        errors.append("Dockerfile: no HEALTHCHECK through fixmine health")
    for m in re.finditer(r"^COPY\s+(?!--from)(.*)$", runtime, re.M):
        errors.append(f"Dockerfile: the runtime stage copies from the context: {m.group(0)}")


def validate(files):
    errors = []
    check_k8s(files["k8s"], errors)
    check_dataset_counts(files["k8s"], errors)
    check_compose(files["compose"], files["prometheus"], files["dir"], errors)
    check_dockerfile(files["dockerfile"], errors)
    return errors


class DeployFilesTest(unittest.TestCase):
    """The files as committed pass; each broken copy fails with the error that names it."""

    @classmethod
    def setUpClass(cls):
        cls.files = load_all(DEPLOY)

    def doc(self, files, fname, kind):
        return next(d for d in files["k8s"][fname] if d.get("kind") == kind)

    def assertCaught(self, mutate, expected):
        files = copy.deepcopy(self.files)
        mutate(files)
        errors = validate(files)
        self.assertTrue(any(expected in e for e in errors),
                        f"expected an error containing {expected!r}, got {errors}")

    def test_committed_files_are_valid(self):
        self.assertEqual(validate(self.files), [])
        kinds = sorted(d["kind"] for docs in self.files["k8s"].values() for d in docs)
        self.assertEqual(kinds, ["ConfigMap", "ConfigMap"] + ["Job"] * 6 + [
            "Kustomization", "PersistentVolumeClaim", "PersistentVolumeClaim", "Service",
            "Service", "StatefulSet"])

    def dataset_job(self, files, stage):
        return next(d for d in files["k8s"]["dataset-jobs.yaml"]
                    if d.get("kind") == "Job" and d["metadata"]["name"].endswith("-" + stage))

    def test_dataset_partitions_differ_from_completions_rejected(self):
        self.assertCaught(lambda f: self.dataset_job(f, "buckets")["spec"].update(completions=4),
                          "the buckets stage has '16' tasks")

    def test_dataset_map_shards_differ_from_extract_rejected(self):
        def mutate(f):
            args = self.dataset_job(f, "filter")["spec"]["template"]["spec"]["containers"][0][
                "args"]
            args[args.index("--map-shards") + 1] = "4"
        self.assertCaught(mutate, "--map-shards and the extract Job's --shard-count differ")

    def test_dataset_clusters_with_many_pods_rejected(self):
        self.assertCaught(lambda f: self.dataset_job(f, "clusters")["spec"].update(
            completions=2, parallelism=1), "the clusters stage has '1' tasks")

    def test_dataset_unmounted_map_rejected(self):
        def mutate(f):
            c = self.dataset_job(f, "signatures")["spec"]["template"]["spec"]["containers"][0]
            c["volumeMounts"] = [m for m in c["volumeMounts"] if m["mountPath"] != "/data/map"]
        self.assertCaught(mutate, "(the map shards) is not a mounted volume claim")

    def test_two_replicas_rejected(self):
        self.assertCaught(lambda f: self.doc(f, "statefulset.yaml", "StatefulSet")["spec"]
                          .update(replicas=2), "replicas must be 1")

    def test_missing_grpc_probe_rejected(self):
        def mutate(f):
            c = self.doc(f, "statefulset.yaml", "StatefulSet")["spec"]["template"]["spec"][
                "containers"][0]
            c["readinessProbe"] = {"httpGet": {"path": "/", "port": 9464}}
        self.assertCaught(mutate, "needs a native gRPC readinessProbe")

    def test_probe_on_unknown_port_rejected(self):
        def mutate(f):
            c = self.doc(f, "statefulset.yaml", "StatefulSet")["spec"]["template"]["spec"][
                "containers"][0]
            c["livenessProbe"]["grpc"]["port"] = 50052
        self.assertCaught(mutate, "livenessProbe checks port 50052")

    def test_service_selecting_nothing_rejected(self):
        def mutate(f):
            f["k8s"]["service.yaml"][0]["spec"]["selector"]["app.kubernetes.io/name"] = "other"
        self.assertCaught(mutate, "selects no pod template")

    def test_undefined_configmap_key_in_args_rejected(self):
        def mutate(f):
            del self.doc(f, "configmap.yaml", "ConfigMap")["data"]["FIXMINED_WORKERS"]
        self.assertCaught(mutate, "uses $(FIXMINED_WORKERS)")

    def test_shard_count_differs_from_completions_rejected(self):
        self.assertCaught(lambda f: self.doc(f, "extract-job.yaml", "Job")["spec"]
                          .update(completions=16), "differs from completions")

    def test_job_not_indexed_rejected(self):
        self.assertCaught(lambda f: self.doc(f, "extract-job.yaml", "Job")["spec"]
                          .update(completionMode="NonIndexed"), "completionMode must be Indexed")

    def test_repo_list_missing_from_configmap_rejected(self):
        def mutate(f):
            data = self.doc(f, "extract-job.yaml", "ConfigMap")["data"]
            data["repositories.txt"] = data.pop("repos.txt")
        self.assertCaught(mutate, "is not a key of a mounted ConfigMap")

    def test_root_pod_rejected(self):
        def mutate(f):
            self.doc(f, "extract-job.yaml", "Job")["spec"]["template"]["spec"][
                "securityContext"]["runAsUser"] = 0
        self.assertCaught(mutate, "must run as a non-root user")

    def test_missing_required_field_rejected(self):
        def mutate(f):
            del self.doc(f, "service.yaml", "Service")["metadata"]["name"]
        self.assertCaught(mutate, "is not a DNS label")

    def test_prometheus_scraping_wrong_port_rejected(self):
        def mutate(f):
            f["prometheus"]["scrape_configs"][0]["static_configs"][0]["targets"] = [
                "fixmined:9100"]
        self.assertCaught(mutate, "no scrape target fixmined:9464")

    def test_undeclared_compose_volume_rejected(self):
        self.assertCaught(lambda f: f["compose"]["volumes"].pop("fixmine-data"),
                          "volume 'fixmine-data' is not declared")

    def test_dockerfile_root_user_rejected(self):
        def mutate(f):
            f["dockerfile"] = f["dockerfile"].replace("USER 10001:10001", "USER root")
        self.assertCaught(mutate, "non-root USER")

    def test_dockerfile_without_healthcheck_rejected(self):
        def mutate(f):
            f["dockerfile"] = re.sub(r"^HEALTHCHECK.*$", "", f["dockerfile"], flags=re.M)
        self.assertCaught(mutate, "no HEALTHCHECK")


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        DEPLOY = sys.argv.pop(1)
    unittest.main(verbosity=2)
