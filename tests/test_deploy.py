"""The deployment files, offline: Kubernetes manifests against the Kubernetes schemas, the Compose file's
shape, and HAProxy's own check of deploy/haproxy.cfg as Compose and `make cluster` use it.

The balancing itself (stickiness, downloads, a replica killed) is tested in tests/browser/test_cluster.py.
"""

import os
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from deploy import cluster

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.37.0"  # the newest schemas kubernetes-validate carries


def manifests():  # -> {kind: manifest}
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    loaded = [yaml.safe_load((K8S / name).read_text()) for name in kustomization["resources"]]
    return {manifest["kind"]: manifest for manifest in loaded}


def test_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    on_disk = {path.name for path in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk


@pytest.mark.parametrize("name", sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml"))
def test_each_manifest_is_valid_against_the_kubernetes_schemas(name):
    manifest = yaml.safe_load((K8S / name).read_text())
    # strict: an unknown field (a typo) fails too; raises ValidationError with the path of the problem
    kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_a_misspelt_field_fails_the_validation():  # the check above can fail
    deployment = manifests()["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbes"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_the_deployment_is_probed_unprivileged_and_sized():
    kinds = manifests()
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(
        container["resources"]["limits"]
    )
    labels = kinds["Deployment"]["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        selector = kinds[kind]["spec"]["selector"]
        assert selector.get("matchLabels", selector).items() <= labels.items(), kind
    assert (
        kinds["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
        == kinds["Deployment"]["metadata"]["name"]
    )


def test_the_ingress_keeps_a_browser_on_its_replica_for_a_lesson():
    ingress = manifests()["Ingress"]
    notes = ingress["metadata"]["annotations"]
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    for timeout in ("proxy-read-timeout", "proxy-send-timeout"):  # an open websocket: at least an hour
        assert int(notes[f"nginx.ingress.kubernetes.io/{timeout}"]) >= 3600


def test_compose_scales_the_app_behind_the_official_haproxy_image():
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    app, balancer = compose["services"]["app"], compose["services"]["balancer"]
    assert "ports" not in app  # only the balancer is published, so --scale app=4 does not clash
    assert (
        app["build"]["dockerfile"] == "Dockerfile"
        and (REPO / "deploy" / app["build"]["context"] / "Dockerfile").exists()
    )
    assert balancer["image"].startswith("haproxy:")
    assert "./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in balancer["volumes"]
    assert balancer["depends_on"]["app"]["condition"] == "service_healthy"


def haproxy_check(config, environment):  # -> haproxy -c's result on that configuration text
    binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not os.path.exists(binary):
        if os.environ.get("REQUIRE_BROWSER") == "1":  # CI installs it
            pytest.fail("haproxy is missing; CI must check deploy/haproxy.cfg", pytrace=False)
        pytest.skip("haproxy is missing (sudo apt-get install haproxy)")
    return subprocess.run(
        [binary, "-c", "-f", "/dev/stdin"],
        input=config, text=True, capture_output=True, env=os.environ | environment, check=False,
    )  # fmt: skip


def test_haproxy_accepts_the_configuration_as_compose_and_make_cluster_use_it():
    compose = yaml.safe_load((REPO / "deploy" / "compose.yaml").read_text())
    as_compose = haproxy_check(
        (REPO / "deploy" / "haproxy.cfg").read_text(), compose["services"]["balancer"]["environment"]
    )
    assert as_compose.returncode == 0, as_compose.stderr
    rendered = cluster.render([8601, 8602, 8603])
    assert rendered.count("    server app") == 3 and "server-template" not in rendered
    local = haproxy_check(rendered, {"LISTEN": "127.0.0.1:8600", "COOKIE_KEY": "k", "APP_HOST": "127.0.0.1"})
    assert local.returncode == 0, local.stderr
    broken = haproxy_check(rendered.replace("balance leastconn", "balance nearest"), {"LISTEN": ":8600"})
    assert broken.returncode != 0  # the check can fail
