"""The whole trace against softmax(Q K^T / sqrt(d_k)) V written out here, and against PyTorch."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from attention_core import AttentionConfig, run_attention

SENTENCE = "The cat sat on the mat, and the dog watched the cat."

CONFIGS = [
    AttentionConfig(),
    AttentionConfig(d_model=16, d_k=8, d_v=4, n_heads=4, seed=3, positional="sinusoidal"),
    AttentionConfig(d_model=6, d_k=5, d_v=7, n_heads=2, seed=11, causal=True, temperature=0.3),
    AttentionConfig(d_model=9, d_k=64, d_v=3, n_heads=3, seed=5, scale=False, temperature=7.0),
    AttentionConfig(d_model=1, d_k=1, d_v=1, causal=True, positional="sinusoidal"),
]


def reference_positional(n, d_model):
    """Section 3.5 of the paper, one entry at a time."""
    pe = np.zeros((n, d_model))
    for pos in range(n):
        for i in range(d_model):
            angle = pos / 10000 ** (2 * (i // 2) / d_model)
            pe[pos, i] = math.sin(angle) if i % 2 == 0 else math.cos(angle)
    return pe


def reference_attention(x, trace, d_k, scale, temperature, causal):
    """Multi-head attention head by head: softmax(Q K^T / sqrt(d_k) / T) V, concat, W_o."""
    n = x.shape[0]
    all_weights, heads = [], []
    for head in range(trace.w_q.shape[0]):
        q = x @ trace.w_q[head] + trace.b_q[head]
        k = x @ trace.w_k[head] + trace.b_k[head]
        v = x @ trace.w_v[head] + trace.b_v[head]
        logits = q @ k.T / (math.sqrt(d_k) if scale else 1.0) / temperature
        if causal:
            logits[np.triu_indices(n, k=1)] = -np.inf
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights = e / e.sum(axis=1, keepdims=True)
        all_weights.append(weights)
        heads.append(weights @ v)
    output = np.concatenate(heads, axis=1) @ trace.w_o + trace.b_o
    return np.stack(all_weights), np.stack(heads), output


@pytest.mark.parametrize("config", CONFIGS, ids=range(len(CONFIGS)))
def test_trace_matches_independent_reference(config):
    trace = run_attention(SENTENCE, config)
    n = len(trace.tokens)
    sinusoidal = config.positional == "sinusoidal"
    positional = reference_positional(n, config.d_model) if sinusoidal else np.zeros((n, config.d_model))
    assert_allclose(trace.positional, positional, rtol=1e-12, atol=1e-15)
    weights, heads, output = reference_attention(
        trace.x, trace, config.d_k, config.scale, config.temperature, config.causal
    )
    # rtol 1e-12 as the issue asks; the atol only covers entries that are zero up to rounding.
    assert_allclose(trace.weights, weights, rtol=1e-12, atol=1e-15)
    assert_allclose(trace.head_outputs, heads, rtol=1e-12, atol=1e-15)
    assert_allclose(trace.output, output, rtol=1e-12, atol=1e-15)
    if config.causal:
        assert_array_equal(trace.weights == 0, np.broadcast_to(~np.tri(n, dtype=bool), trace.weights.shape))


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(("scale", "temperature"), [(True, 1.0), (False, 1.0), (True, 0.4)])
def test_matches_torch_scaled_dot_product_attention(causal, scale, temperature):
    torch = pytest.importorskip("torch")
    config = AttentionConfig(
        d_model=12, d_k=6, d_v=5, n_heads=3, seed=2, causal=causal, scale=scale, temperature=temperature
    )
    trace = run_attention(SENTENCE, config)
    q, k, v = (torch.from_numpy(a) for a in (trace.q, trace.k, trace.v))  # float64, [h, n, d]
    heads = torch.nn.functional.scaled_dot_product_attention(
        q, k, v, is_causal=causal, scale=1 / ((math.sqrt(config.d_k) if scale else 1.0) * temperature)
    )
    n = len(trace.tokens)
    output = heads.transpose(0, 1).reshape(n, -1) @ torch.from_numpy(trace.w_o) + torch.from_numpy(trace.b_o)
    assert_allclose(trace.head_outputs, heads.numpy(), rtol=1e-12, atol=1e-15)
    assert_allclose(trace.output, output.numpy(), rtol=1e-12, atol=1e-15)
