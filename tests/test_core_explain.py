"""The per-cell arithmetic shown in "show me the numbers" must agree with the trace."""

import itertools
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from attention_core import (
    AttentionConfig,
    Weights,
    attend,
    output_terms,
    run_attention,
    score_terms,
    softmax_terms,
)

TRACES = [
    run_attention("The cat sat on the mat.", AttentionConfig(n_heads=2, seed=4)),
    run_attention("The cat sat on the mat.", AttentionConfig(n_heads=2, causal=True, temperature=0.5)),
    run_attention("the dog", AttentionConfig(d_model=5, d_k=7, d_v=3, scale=False, positional="sinusoidal")),
]


@pytest.mark.parametrize("trace", TRACES, ids=range(len(TRACES)))
def test_every_cell_agrees_with_the_trace(trace):
    h, n, _ = trace.weights.shape
    for head, i in itertools.product(range(h), range(n)):
        for j in range(n):
            cell = score_terms(trace, head, i, j)
            assert_array_equal(cell.products, trace.q[head, i] * trace.k[head, j])
            assert cell.score == pytest.approx(cell.products.sum(), rel=1e-15)
            assert cell.score == pytest.approx(trace.scores[head, i, j], rel=1e-12, abs=1e-14)
            assert cell.divisor == trace.divisor
            assert cell.scaled == pytest.approx(trace.scaled[head, i, j], rel=1e-12, abs=1e-14)

        row = softmax_terms(trace, head, i)
        allowed = trace.mask[i]
        assert_array_equal(row.logits, trace.scaled[head, i])
        assert row.row_max == trace.scaled[head, i][allowed].max()
        assert_array_equal(row.exps[~allowed], 0.0)  # masked keys add nothing to the total
        assert row.total == pytest.approx(row.exps.sum(), rel=1e-15)
        assert_allclose(row.weights, trace.weights[head, i], rtol=1e-14, atol=1e-16)

        out = output_terms(trace, head, i)
        assert_array_equal(out.contributions, trace.weights[head, i][:, None] * trace.v[head])
        assert_allclose(out.total, trace.head_outputs[head, i], rtol=1e-12, atol=1e-15)


def test_cells_of_the_two_token_example():
    # Identity weights, so Q = K = V = X = [[2, 0, 0, 0], [0, 2, 0, 0]]; d_k = 4 divides by 2.
    eye, zeros = np.eye(4), np.zeros((1, 4))
    weights = Weights(eye[None], eye[None], eye[None], eye, zeros, zeros, zeros, np.zeros(4))
    x = np.array([[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    trace = attend(AttentionConfig(d_model=4, d_k=4, d_v=4), ("a", "b"), x, np.zeros_like(x), weights)

    cell = score_terms(trace, 0, 0, 0)  # q0 . k0 = 2 * 2 = 4, / 2 = 2
    assert_array_equal(cell.products, [4.0, 0.0, 0.0, 0.0])
    assert (cell.score, cell.divisor, cell.scaled) == (4.0, 2.0, 2.0)

    row = softmax_terms(trace, 0, 0)  # logits [2, 0] -> shifted [0, -2] -> exps [1, e^-2]
    assert row.row_max == 2.0
    assert_array_equal(row.shifted, [0.0, -2.0])
    assert_allclose(row.exps, [1.0, math.exp(-2)], rtol=1e-15)
    assert row.total == pytest.approx(1 + math.exp(-2), rel=1e-15)
    p = 1 / (1 + math.exp(-2))
    assert_allclose(row.weights, [p, 1 - p], rtol=1e-14)

    out = output_terms(trace, 0, 0)  # p * [2, 0, 0, 0] + (1 - p) * [0, 2, 0, 0]
    assert_allclose(out.contributions, [[2 * p, 0, 0, 0], [0, 2 * (1 - p), 0, 0]], rtol=1e-14)
    assert_allclose(out.total, [2 * p, 2 * (1 - p), 0, 0], rtol=1e-14)
