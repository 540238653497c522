"""How long run_attention takes at 512 tokens, next to the matrix products it cannot avoid.

Run from the repository root: python benchmarks/bench_core.py
"""

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script from anywhere

from attention_core import AttentionConfig, attend, init_weights, run_attention

N, D_MODEL, HEADS, D_K = 512, 512, 8, 64
REPEATS = 25


def median_ms(works, repeats=REPEATS):
    """Median time of each callable, in ms; interleaved so that a busy machine slows all of them alike."""
    times = [[] for _ in works]
    for repeat in range(repeats + 1):
        for work, spent in zip(works, times, strict=True):
            start = time.perf_counter()
            work()
            if repeat:  # round 0 is a warm-up: first-call allocation and BLAS thread start-up
                spent.append(time.perf_counter() - start)
    return [1000 * statistics.median(spent) for spent in times]


def matmuls_only():
    """The six products of the layer on preallocated arrays: the floor for any NumPy implementation."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, D_MODEL))
    w_q, w_k, w_v = (rng.standard_normal((HEADS, D_MODEL, D_K)) for _ in range(3))
    w_o = rng.standard_normal((HEADS * D_K, D_MODEL))
    q, k, v = (np.empty((HEADS, N, D_K)) for _ in range(3))
    scores = np.empty((HEADS, N, N))
    weights = np.full((HEADS, N, N), 1 / N)
    head_outputs = np.empty((HEADS, N, D_K))
    concat = rng.standard_normal((N, HEADS * D_K))
    output = np.empty((N, D_MODEL))

    def work():
        np.matmul(x, w_q, out=q)
        np.matmul(x, w_k, out=k)
        np.matmul(x, w_v, out=v)
        np.matmul(q, k.swapaxes(-1, -2), out=scores)
        np.matmul(weights, v, out=head_outputs)
        np.matmul(concat, w_o, out=output)

    return work


def main():
    config = AttentionConfig(d_model=D_MODEL, d_k=D_K, d_v=D_K, n_heads=HEADS, max_tokens=N)
    sentence = " ".join(f"w{i}" for i in range(N))  # N distinct tokens, each its own embedding
    trace = run_attention(sentence, config)
    assert trace.weights.shape == (HEADS, N, N)
    weights = init_weights(config)

    full, stages, floor = median_ms(
        [
            lambda: run_attention(sentence, config),
            lambda: attend(config, trace.tokens, trace.x, trace.positional, weights),
            matmuls_only(),
        ]
    )

    print(f"n = {N}, d_model = {D_MODEL}, {HEADS} heads, d_k = d_v = {D_K}; median of {REPEATS} runs")
    print(f"NumPy {np.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    rows = [
        ("`run_attention` (tokenize, embed, init weights, stages 2-7)", full),
        ("`attend` (stages 2-7 on a given X and weights)", stages),
        ("matrix products alone (3 projections, 2 batched matmuls, W_o)", floor),
    ]
    print("| what | median (ms) | ratio to matrix products |")
    print("|---|---:|---:|")
    for what, ms in rows:
        print(f"| {what} | {ms:.1f} | {ms / floor:.2f} |")


if __name__ == "__main__":
    main()
