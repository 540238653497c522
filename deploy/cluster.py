"""`make cluster`: several `streamlit run app.py` replicas on 127.0.0.1 behind Debian's haproxy, in the foreground.

    python deploy/cluster.py --replicas 3 --port 8600    # the balancer on 8600, replicas on 8601-8603
    python deploy/cluster.py --tls-cert site.pem --tls-port 8643   # also HTTPS; plain HTTP redirects to it

deploy/haproxy.cfg is rendered for those ports (its server-template line, which finds Compose's replicas by
DNS, becomes one server line per replica) and haproxy runs it. Ctrl-C stops everything. Each replica's
port and process id are printed, so a replica can be stopped by hand to see the others carry on.

Live classes (classroom/) are shared by the replicas through Debian's redis-server, started here on a
free port with no persistence (``ATTENTION_CLASS_STORE=redis://127.0.0.1:<port>/0`` for every replica),
unless ATTENTION_CLASS_STORE is already set.

The balancer's other settings come from the environment, as under Compose (PUBLIC_HOST, FRAME_ANCESTORS,
HSTS_MAX_AGE, WEBSOCKET_IDLE_TIMEOUT; see deploy/haproxy.cfg); COOKIE_KEY, when unset, is a new random
secret for each start.
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


def self_signed_certificate(directory, host="localhost"):  # -> a PEM for --tls-cert, valid for a day
    """A certificate, with its key, for trying HTTPS on one machine (and for the tests): openssl makes it."""
    pem = Path(directory) / "self-signed.pem"
    key, certificate = pem.with_suffix(".key"), pem.with_suffix(".crt")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-days", "1", "-subj", f"/CN={host}", "-addext", f"subjectAltName=DNS:{host},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    pem.write_bytes(certificate.read_bytes() + key.read_bytes())
    return pem


def healthy(port, path="/_stcore/health"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
            return reply.read() == b"ok"
    except OSError:
        return False


def redis_answers(port):  # whether a Redis on 127.0.0.1:port answers PING
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(port, log=None):  # -> Debian's redis-server on 127.0.0.1:port, in memory only
    """No file at all: no snapshot, no append-only file (a class is a lesson's worth of state)."""
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(server).exists():
        sys.exit("redis-server is not installed: sudo apt-get install redis-server (see the README)")
    command = [server, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"]
    command += ["--dir", "/tmp", "--maxmemory", "256mb", "--maxmemory-policy", "volatile-ttl"]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not redis_answers(port):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            sys.exit(f"redis-server did not start on port {port}")
        time.sleep(0.05)
    return process


def start(replicas, port, log_dir=None, tls_cert=None, tls_port=8643):
    """-> [processes]: the replicas, Redis (unless ATTENTION_CLASS_STORE is set), then haproxy. With
    tls_cert, HTTPS on tls_port as well."""
    haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(haproxy).exists():
        sys.exit("haproxy is not installed: sudo apt-get install haproxy (see the README)")
    ports = [port + k for k in range(1, replicas + 1)]
    processes = []
    # haproxy.cfg's websocket idle timeout counts on the server's pings (30 s, uvicorn's default): say so.
    replica_environment = {"STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL": "30"} | os.environ
    redis = None
    if not os.environ.get("ATTENTION_CLASS_STORE"):
        redis_port = free_ports(0)
        redis_log = open(Path(log_dir) / "redis.log", "wb") if log_dir else subprocess.DEVNULL  # noqa: SIM115
        redis = start_redis(redis_port, redis_log)
        replica_environment["ATTENTION_CLASS_STORE"] = f"redis://127.0.0.1:{redis_port}/0"
    for k, replica_port in enumerate(ports, 1):
        output = open(Path(log_dir) / f"replica-{k}.log", "wb") if log_dir else None  # noqa: SIM115
        command = [
            sys.executable, "-m", "streamlit", "run", "app.py", f"--server.port={replica_port}",
            "--server.address=127.0.0.1", "--server.headless=true",
        ]  # fmt: skip
        processes.append(
            subprocess.Popen(
                command, cwd=REPO, env=replica_environment, stdout=output, stderr=subprocess.STDOUT
            )
        )
    processes += [redis] if redis else []
    deadline = time.monotonic() + 90
    while not all(healthy(p) for p in ports):
        if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
            stop(processes)
            sys.exit("a replica did not start; see its output above")
        time.sleep(0.2)
    environment = os.environ | {
        "LISTEN": f"127.0.0.1:{port}",
        # The replicas' cookie values: unguessable, new for each start unless given.
        "COOKIE_KEY": os.environ.get("COOKIE_KEY") or secrets.token_hex(16),
        "APP_HOST": "127.0.0.1",
    }
    if tls_cert:
        environment |= {
            "TLS_CERT": str(Path(tls_cert).resolve()),
            "TLS_LISTEN": f"127.0.0.1:{tls_port}",
            "HTTPS_PORT": str(tls_port),
        }
    # The rendered configuration on haproxy's stdin: it reads it once, at start, and no file is left behind.
    balancer = subprocess.Popen([haproxy, "-db", "-f", "/dev/stdin"], stdin=subprocess.PIPE, env=environment)
    balancer.stdin.write(render(ports).encode())
    balancer.stdin.close()
    processes.append(balancer)
    while not healthy(port, "/balancer-health"):  # haproxy answers this itself once it listens
        if time.monotonic() > deadline or processes[-1].poll() is not None:
            stop(processes)
            sys.exit("haproxy did not start; see its output above")
        time.sleep(0.1)
    for k, (replica_port, process) in enumerate(zip(ports, processes, strict=False), 1):
        print(f"replica app{k}: port {replica_port}, pid {process.pid}", flush=True)
    if redis:
        print(f"live classes: {replica_environment['ATTENTION_CLASS_STORE']}, pid {redis.pid}", flush=True)
    also = f" and https://127.0.0.1:{tls_port}" if tls_cert else ""
    print(f"Serving {replicas} replicas on http://127.0.0.1:{port}{also} (Ctrl-C stops them all)", flush=True)
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
    parser.add_argument(
        "--tls-cert", help="a PEM file (certificate, chain, key): HTTPS on --tls-port as well"
    )
    parser.add_argument("--tls-port", type=int, default=8643, help="the HTTPS port, with --tls-cert")
    arguments = parser.parse_args()
    if not 1 <= arguments.replicas <= 16:
        parser.error("--replicas must be between 1 and 16")
    processes = start(
        arguments.replicas, arguments.port, arguments.logs, arguments.tls_cert, arguments.tls_port
    )
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
