"""The deployment files, offline: Kubernetes manifests against the Kubernetes schemas, the Compose files'
shape, HAProxy's own check of deploy/haproxy.cfg in every rendering Compose and `make cluster` use (with
and without TLS), and the front door's settings where a file can show them: no public COOKIE_KEY,
hardened containers, a NetworkPolicy that denies egress, the same security headers at both front doors.

The balancing and the front door at work (stickiness, limits, headers in a browser, TLS) are tested in
tests/browser/test_cluster.py and tests/browser/test_front_door.py.
"""

import base64
import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import streamlit
import yaml

from deploy import cluster

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
HAPROXY_CFG = REPO / "deploy" / "haproxy.cfg"
KUBERNETES_VERSION = "1.37.0"  # the newest schemas kubernetes-validate carries
PING_INTERVAL_S = 30  # the Dockerfile's STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL
CLASS = 60  # students behind one NAT address, the front door's sizing
# Measured by tests/browser/test_front_door.py; the sidebar's "Start a live class" button brought Streamlit's button script.
PAGE_LOAD = {"requests": 122, "static": 116, "connections": 7}


def documents(name):  # -> the manifests in one file of deploy/k8s
    return [doc for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def manifests():  # -> every manifest kustomize applies
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return [doc for name in kustomization["resources"] for doc in documents(name)]


APP = "attention-visualizer"  # the app's manifests' name; the live classes' Redis is APP-redis


def one(kind, name=APP):  # -> the manifest of that kind and name
    (found,) = [m for m in manifests() if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def container():
    (app,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    return app


def compose(*names):  # -> the Compose files merged as `docker compose -f a -f b` merges services
    merged = {}
    for name in names:
        for service, settings in yaml.safe_load((REPO / "deploy" / name).read_text())["services"].items():
            into = merged.setdefault(service, {})
            for key, value in settings.items():
                if isinstance(value, dict):
                    into[key] = into.get(key, {}) | value
                elif isinstance(value, list):
                    into[key] = into.get(key, []) + value
                else:
                    into[key] = value
    return merged


def interpolate(value, environment):  # Compose's ${NAME}, ${NAME:-default} and ${NAME:?message}
    def one_variable(match):
        name, operator, rest = match.group(1), match.group(2), match.group(3)
        if environment.get(name):
            return environment[name]
        if operator == ":?":
            raise KeyError(f"{name}: {rest}")
        return rest or ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one_variable, str(value))


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_each_manifest_is_valid_against_the_kubernetes_schemas(name):
    for manifest in documents(name):
        # strict: an unknown field (a typo) fails too; raises ValidationError with the path of the problem
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_fails_the_validation():  # the check above can fail
    deployment = one("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_deployment_is_probed_unprivileged_and_sized():
    pod = one("Deployment")["spec"]["template"]["spec"]
    app = container()
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert app[probe]["httpGet"]["path"] == "/_stcore/health"
    assert set(app["resources"]) == {"requests", "limits"}
    for resource in ("cpu", "memory", "ephemeral-storage"):
        assert resource in app["resources"]["requests"] and resource in app["resources"]["limits"], resource
    labels = one("Deployment")["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
        selector = one(kind)["spec"].get("podSelector") or one(kind)["spec"]["selector"]
        assert selector.get("matchLabels", selector).items() <= labels.items(), kind
    scaled = one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]["name"]
    assert scaled == one("Deployment")["metadata"]["name"]
    assert pod["automountServiceAccountToken"] is False


def test_the_container_cannot_change_its_files_nor_gain_privileges():
    pod = one("Deployment")["spec"]["template"]["spec"]
    security = container()["securityContext"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"] and "add" not in security["capabilities"]
    assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
    # The one writable place, /tmp, is an emptyDir of bounded size.
    (mount,) = container()["volumeMounts"]
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert mount["mountPath"] == "/tmp" and volume["emptyDir"]["sizeLimit"]


def test_the_image_is_a_named_build_not_latest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    (image,) = kustomization["images"]
    assert image["name"] == container()["image"]  # kustomize sets the tag on the Deployment's image
    assert ":" not in container()["image"]
    assert image.get("digest") or (image.get("newTag") and image["newTag"] != "latest"), image


def test_the_network_policy_lets_out_only_redis_and_dns_and_admits_only_the_ingress_controller_and_itself():
    policy = one("NetworkPolicy")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    to_redis, to_dns = policy["egress"]  # nothing else goes out
    assert to_redis["to"] == [{"podSelector": one("Deployment", f"{APP}-redis")["spec"]["selector"]}]
    assert to_redis["ports"] == [{"port": 6379, "protocol": "TCP"}]
    (dns,) = to_dns["to"]
    assert dns["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}
    assert dns["podSelector"]["matchLabels"] == {"k8s-app": "kube-dns"}
    assert {p["port"] for p in to_dns["ports"]} == {53}
    (rule,) = policy["ingress"]
    sources = [next(iter(source)) for source in rule["from"]]
    assert sorted(sources) == ["namespaceSelector", "podSelector"]
    namespace = next(s["namespaceSelector"] for s in rule["from"] if "namespaceSelector" in s)
    assert namespace["matchLabels"] == {"kubernetes.io/metadata.name": "ingress-nginx"}
    itself = next(s["podSelector"] for s in rule["from"] if "podSelector" in s)
    assert itself == policy["podSelector"]
    assert [p["port"] for p in rule["ports"]] == ["http"]


def test_live_classes_live_in_one_redis_without_persistence_reached_only_by_the_app():
    redis = one("Deployment", f"{APP}-redis")
    pod = redis["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    args = server["args"]
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"
    assert ":" in server["image"] and not server["image"].endswith(":latest")
    assert redis["spec"]["replicas"] == 1
    assert all("emptyDir" in volume for volume in pod["volumes"])  # no persistent volume: nothing outlives it
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    assert server["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    labels = redis["spec"]["template"]["metadata"]["labels"]
    assert one("Service", f"{APP}-redis")["spec"]["selector"].items() <= labels.items()
    # Its selector and the app's do not overlap: the app's Service, PDB and HPA never count Redis.
    assert not one("Deployment")["spec"]["selector"]["matchLabels"].items() <= labels.items()
    policy = one("NetworkPolicy", f"{APP}-redis")["spec"]
    assert policy["podSelector"] == redis["spec"]["selector"] and policy.get("egress") == []
    (rule,) = policy["ingress"]
    assert rule["from"] == [{"podSelector": one("Deployment")["spec"]["selector"]}]
    (variable,) = [e for e in container()["env"] if e["name"] == "ATTENTION_CLASS_STORE"]
    service = one("Service", f"{APP}-redis")
    (port,) = service["spec"]["ports"]
    assert variable["value"] == f"redis://{service['metadata']['name']}:{port['port']}/0"


def test_compose_runs_redis_in_memory_unpublished_and_points_the_replicas_at_it():
    services = compose("compose.yaml")
    redis = services["redis"]
    assert "ports" not in redis
    command = redis["command"]
    assert command[command.index("--save") + 1] == "" and command[command.index("--appendonly") + 1] == "no"
    assert "volumes" not in redis
    assert services["app"]["environment"]["ATTENTION_CLASS_STORE"] == "redis://redis:6379/0"
    # The app starts without it: every page but a live class works while it is away.
    assert services["app"]["depends_on"]["redis"]["condition"] == "service_started"


def ingresses():  # -> {name: Ingress}
    return {m["metadata"]["name"]: m for m in manifests() if m["kind"] == "Ingress"}


def annotations(ingress):
    prefix = "nginx.ingress.kubernetes.io/"
    return {k.removeprefix(prefix): v for k, v in ingress["metadata"].get("annotations", {}).items()}


def test_every_ingress_serves_one_host_over_tls_with_the_security_headers():
    headers = one("ConfigMap", "attention-visualizer-security-headers")["metadata"]["name"]
    hosts = set()
    for name, ingress in ingresses().items():
        assert ingress["spec"]["ingressClassName"] == "nginx"
        rule_hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
        (tls,) = ingress["spec"]["tls"]
        assert set(tls["hosts"]) == rule_hosts and tls["secretName"], name
        assert annotations(ingress)["custom-headers"].split("/") == ["default", headers], name
        hosts |= rule_hosts
    assert len(hosts) == 1


def test_the_ingress_keeps_a_browser_on_its_replica_and_limits_each_address():
    main = annotations(ingresses()["attention-visualizer"])
    assert main["affinity"] == "cookie"
    assert main["session-cookie-secure"] == "true" and main["session-cookie-samesite"] == "Lax"
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):  # silent this long: closed; pinged: never
        assert 3 * PING_INTERVAL_S <= int(main[timeout]) < 3600, timeout
    static = annotations(ingresses()["attention-visualizer-static"])

    def per_10_s(notes):  # requests one address may make in 10 s: the burst, then the rate
        return int(notes["limit-rps"]) * (int(notes["limit-burst-multiplier"]) + 10)

    # A class opening the link together: a websocket each, and its page's requests, are let through.
    page_requests = PAGE_LOAD["requests"] - PAGE_LOAD["static"]
    assert CLASS <= int(main["limit-connections"]) <= 4 * CLASS
    assert CLASS * page_requests <= per_10_s(main) <= 4 * CLASS * page_requests
    assert CLASS * PAGE_LOAD["static"] <= per_10_s(static) <= 4 * CLASS * PAGE_LOAD["static"]
    assert int(static["limit-connections"]) >= CLASS * 6


def test_the_ingress_refuses_streamlits_internal_endpoints():
    internal = ingresses()["attention-visualizer-internal"]
    assert annotations(internal)["denylist-source-range"].split(",") == ["0.0.0.0/0", "::/0"]
    (rule,) = internal["spec"]["rules"]
    refused = {path["path"] for path in rule["http"]["paths"]}
    assert {"/_stcore", "/auth", "/oauth2callback"} <= refused
    # What the pages use is routed by longer paths, the same list as HAProxy's.
    (main_rule,) = ingresses()["attention-visualizer"]["spec"]["rules"]
    used = {path["path"] for path in main_rule["http"]["paths"]} - {"/"}
    config = HAPROXY_CFG.read_text()
    in_haproxy = set(re.findall(r"(/_stcore/[\w-]+)", " ".join(re.findall(r"acl stcore_used .*", config))))
    assert used == in_haproxy, (used, in_haproxy)


SET_HEADER = re.compile(r'http-after-response set-header ([\w-]+) "?([^"\n]*?)"?(?: if .*)?\n')


def haproxy_headers():  # -> {name: value} that deploy/haproxy.cfg sets on every reply, with its defaults
    found = dict(SET_HEADER.findall(HAPROXY_CFG.read_text()))
    policy = found["Content-Security-Policy"]
    return found | {"Content-Security-Policy": policy.replace("${FRAME_ANCESTORS-'self'}", "'self'")}


def test_both_front_doors_send_the_same_security_headers():
    configmap = one("ConfigMap", "attention-visualizer-security-headers")["data"]
    assert configmap == {k: v for k, v in haproxy_headers().items() if k != "Strict-Transport-Security"}
    assert "frame-ancestors 'self'" in configmap["Content-Security-Policy"]
    assert configmap["X-Content-Type-Options"] == "nosniff"


def test_the_policy_allows_streamlits_inline_script_by_its_hash_and_nothing_else_inline():
    index = (Path(streamlit.__file__).parent / "static" / "index.html").read_text()
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", index, re.S)
    hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
    policy = dict(d.strip().split(" ", 1) for d in haproxy_headers()["Content-Security-Policy"].split(";"))
    script_sources = policy["script-src"].split()
    # A new Streamlit may change its inline script: then the policy needs its new hash.
    assert hashes and {s for s in script_sources if s.startswith("'sha256-")} == hashes
    assert "'unsafe-inline'" not in script_sources and "'unsafe-eval'" not in script_sources
    assert policy["default-src"] == "'none'" and policy["connect-src"] == "'self'"


def test_compose_scales_the_app_behind_the_official_haproxy_image():
    services = compose("compose.yaml")
    app, balancer = services["app"], services["balancer"]
    assert "ports" not in app  # only the balancer is published, so --scale app=4 does not clash
    assert (
        app["build"]["dockerfile"] == "Dockerfile"
        and (REPO / "deploy" / app["build"]["context"] / "Dockerfile").exists()
    )
    assert balancer["image"].startswith("haproxy:")
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    assert balancer["depends_on"]["app"]["condition"] == "service_healthy"


def test_compose_has_no_public_cookie_key():
    environment = compose("compose.yaml")["balancer"]["environment"]
    assert environment["COOKIE_KEY"].startswith("${COOKIE_KEY:?")  # unset: Compose stops with the message
    with pytest.raises(KeyError, match="COOKIE_KEY"):
        interpolate(environment["COOKIE_KEY"], {})
    assert interpolate(environment["COOKIE_KEY"], {"COOKIE_KEY": "s3cret"}) == "s3cret"
    assert interpolate(environment["FRAME_ANCESTORS"], {}) == "'self'"


@pytest.mark.parametrize("service", ["app", "balancer", "redis"])
def test_compose_containers_are_read_only_unprivileged_and_rotate_their_logs(service):
    settings = compose("compose.yaml")[service]
    assert settings["read_only"] is True
    assert [entry.split(":")[0] for entry in settings["tmpfs"]] == ["/tmp"]
    assert settings["cap_drop"] == ["ALL"] and "cap_add" not in settings
    assert "no-new-privileges:true" in settings["security_opt"]
    assert settings["logging"]["driver"] == "json-file"
    assert {"max-size", "max-file"} <= set(settings["logging"]["options"])


def test_compose_with_tls_mounts_the_certificate_and_publishes_https():
    balancer = compose("compose.yaml", "compose.tls.yaml")["balancer"]
    assert len(balancer["ports"]) == 2
    certificate = next(v for v in balancer["volumes"] if v.endswith(":/usr/local/etc/haproxy/site.pem:ro"))
    assert certificate.startswith("${TLS_CERT:?")
    assert balancer["environment"]["TLS_CERT"] == "/usr/local/etc/haproxy/site.pem"


def haproxy_check(config, environment):  # -> haproxy -c's result on that configuration text
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(binary):
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI installs it
            pytest.fail("haproxy is missing; CI must check deploy/haproxy.cfg", pytrace=False)
        pytest.skip("haproxy is missing (sudo apt-get install haproxy)")
    return subprocess.run(
        [binary, "-c", "-f", "/dev/stdin"],
        input=config, text=True, capture_output=True, env={"PATH": os.environ["PATH"], **environment}, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):  # for the TLS renderings: Debian's openssl makes it
    if shutil.which("openssl") is None:
        pytest.fail("openssl is missing (sudo apt-get install openssl)", pytrace=False)
    return cluster.self_signed_certificate(tmp_path_factory.mktemp("tls"))


def compose_environment(files, settings):  # -> the balancer's environment as Compose would give it
    balancer = compose(*files)["balancer"]
    return {name: interpolate(value, settings) for name, value in balancer["environment"].items()}


def test_haproxy_accepts_every_rendering_compose_and_make_cluster_use(certificate):
    as_compose = compose_environment(["compose.yaml"], {"COOKIE_KEY": "k"})
    checked = haproxy_check(HAPROXY_CFG.read_text(), as_compose)
    assert checked.returncode == 0, checked.stderr
    with_tls = compose_environment(["compose.yaml", "compose.tls.yaml"], {"COOKIE_KEY": "k", "TLS_CERT": "x"})
    config = HAPROXY_CFG.read_text()
    checked = haproxy_check(config, with_tls | {"TLS_CERT": str(certificate)})  # the file mounted there
    assert checked.returncode == 0, checked.stderr
    rendered = cluster.render([8601, 8602, 8603])
    assert rendered.count("    server app") == 3 and "server-template" not in rendered
    local = {"LISTEN": "127.0.0.1:8600", "COOKIE_KEY": "k", "APP_HOST": "127.0.0.1"}
    checked = haproxy_check(rendered, local)
    assert checked.returncode == 0, checked.stderr
    tls = {"TLS_CERT": str(certificate), "TLS_LISTEN": "127.0.0.1:8643", "HTTPS_PORT": "8643"}
    checked = haproxy_check(rendered, local | tls | {"PUBLIC_HOST": "a.example.org b.example.org"})
    assert checked.returncode == 0, checked.stderr


def test_haproxy_refuses_to_start_without_a_cookie_key_or_with_a_mistake():  # the check above can fail
    rendered = cluster.render([8601])
    without_key = haproxy_check(rendered, {"LISTEN": "127.0.0.1:8600", "APP_HOST": "127.0.0.1"})
    assert without_key.returncode != 0 and "COOKIE_KEY is not set" in without_key.stderr
    local = {"LISTEN": "127.0.0.1:8600", "COOKIE_KEY": "k", "APP_HOST": "127.0.0.1"}
    broken = haproxy_check(rendered.replace("balance leastconn", "balance nearest"), local)
    assert broken.returncode != 0


def test_the_balancers_limits_admit_a_class_behind_one_address():
    config = HAPROXY_CFG.read_text()

    def limit(name):
        return int(re.search(rf"acl {name} \S+ gt (\d+)", config).group(1))

    connections = int(re.search(r"reject if \{ sc0_conn_cur gt (\d+) \}", config).group(1))
    assert CLASS * PAGE_LOAD["connections"] <= connections
    assert CLASS * PAGE_LOAD["requests"] <= limit("too_many_requests") <= 4 * CLASS * PAGE_LOAD["requests"]
    page_requests = PAGE_LOAD["requests"] - PAGE_LOAD["static"] + 1  # and the websocket's handshake
    assert CLASS * page_requests <= limit("too_many_dynamic_requests") <= 4 * CLASS * page_requests
    assert CLASS <= limit("too_many_websockets") <= 4 * CLASS
    assert CLASS <= limit("too_many_new_websockets") <= 4 * CLASS
    # An idle websocket is closed well before 4 hours, but never between two of the server's pings.
    tunnel = re.search(r'timeout tunnel "\$\{WEBSOCKET_IDLE_TIMEOUT-(\d+)m\}"', config)
    assert 3 * PING_INTERVAL_S <= 60 * int(tunnel.group(1)) < 3600
    assert re.search(r"^    timeout queue (\d+)s$", config, re.M)
    dockerfile = (REPO / "Dockerfile").read_text()
    assert f"STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL={PING_INTERVAL_S}" in dockerfile
