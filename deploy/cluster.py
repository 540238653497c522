"""`make cluster`: several `streamlit run app.py` replicas on 127.0.0.1 behind Debian's haproxy, in the foreground.

    python deploy/cluster.py --replicas 3 --port 8600    # the balancer on 8600, replicas on 8601-8603

deploy/haproxy.cfg is rendered for those ports (its server-template line, which finds Compose's replicas by
DNS, becomes one server line per replica) and haproxy runs it. Ctrl-C stops everything. Each replica's
port and process id are printed, so a replica can be stopped by hand to see the others carry on.
"""

import argparse
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "deploy" / "haproxy.cfg"
TEMPLATE_LINE = re.compile(r"^\s*server-template .*$", re.M)


def render(replica_ports):  # -> haproxy.cfg with one server line per local replica
    servers = "\n".join(
        f"    server app{k} 127.0.0.1:{port} check" for k, port in enumerate(replica_ports, 1)
    )
    text, count = TEMPLATE_LINE.subn(servers, CONFIG.read_text())
    assert count == 1, "deploy/haproxy.cfg must have exactly one server-template line"
    return text


def free_ports(replicas):  # -> a port that is free with the `replicas` ports after it (the replicas' ports)
    while True:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if all(_is_free(port + k) for k in range(1, replicas + 1)):
            return port


def _is_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def healthy(port, path="/_stcore/health"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
            return reply.read() == b"ok"
    except OSError:
        return False


def start(replicas, port, log_dir=None):  # -> [processes]: the replicas, then haproxy
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        sys.exit("haproxy is not installed: sudo apt-get install haproxy (see the README)")
    ports = [port + k for k in range(1, replicas + 1)]
    processes = []
    for k, replica_port in enumerate(ports, 1):
        output = open(Path(log_dir) / f"replica-{k}.log", "wb") if log_dir else None  # noqa: SIM115
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py", f"--server.port={replica_port}",
            "--server.address=127.0.0.1", "--server.headless=true",
        ]  # fmt: skip
        processes.append(subprocess.Popen(command, cwd=REPO, stdout=output, stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 90
    while not all(healthy(p) for p in ports):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop(processes)
            sys.exit("a replica did not start; see its output above")
        time.sleep(0.2)
    config = Path(tempfile.mkdtemp(prefix="attention-cluster-")) / "haproxy.cfg"
    config.write_text(render(ports))
    environment = os.environ | {
        "LISTEN": f"127.0.0.1:{port}",
        "COOKIE_KEY": secrets.token_hex(16),  # the replicas' cookie values: unguessable, new per start
        "APP_HOST": "127.0.0.1",
    }
    processes.append(subprocess.Popen([haproxy, "-db", "-f", str(config)], env=environment))
    while not healthy(port, "/balancer-health"):  # haproxy answers this itself once it listens
        if time.monotonic() > deadline or processes[-1].poll() is not None:
            stop(processes)
            sys.exit("haproxy did not start; see its output above")
        time.sleep(0.1)
    for k, (replica_port, process) in enumerate(zip(ports, processes, strict=False), 1):
        print(f"replica app{k}: port {replica_port}, pid {process.pid}", flush=True)
    print(f"Serving {replicas} replicas on http://127.0.0.1:{port} (Ctrl-C stops them all)", flush=True)
    return processes


def stop(processes):
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument(
        "--port", type=int, default=8600, help="the balancer's port; replicas use the next ones"
    )
    parser.add_argument("--logs", help="a folder for each replica's output (default: this terminal)")
    arguments = parser.parse_args()
    if not 1 <= arguments.replicas <= 16:
        parser.error("--replicas must be between 1 and 16")
    processes = start(arguments.replicas, arguments.port, arguments.logs)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while all(p.poll() is None for p in processes[-1:]):  # until haproxy ends, or Ctrl-C
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(processes)


if __name__ == "__main__":
    main()
