"""Each stage on a 2-token example small enough to work out on paper."""

import dataclasses
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from attention_core import (
    STAGES,
    AttentionConfig,
    AttentionTrace,
    Weights,
    attend,
    attention_scores,
    causal_mask,
    concat_heads,
    output_projection,
    positional_encoding,
    project,
    scale_scores,
    softmax,
    weighted_sum,
)
from attention_core.families import FAMILIES
from attention_core.stages import SEVEN, stage_number


def test_project_two_tokens_two_heads():
    x = np.array([[1.0, 2.0], [3.0, 0.0]])
    w = np.array([[[1.0, 0.0], [1.0, 1.0]], [[0.0, 1.0], [1.0, 0.0]]])  # head 1 swaps the columns
    b = np.array([[10.0, 20.0], [0.0, 0.0]])
    # head 0: [1, 2] @ [[1, 0], [1, 1]] = [1 + 2, 0 + 2] = [3, 2], + [10, 20] = [13, 22]
    #         [3, 0] @ [[1, 0], [1, 1]] = [3, 0],                     + [10, 20] = [13, 20]
    # head 1: swapped rows of x, no bias
    expected = np.array([[[13.0, 22.0], [13.0, 20.0]], [[2.0, 1.0], [0.0, 3.0]]])
    assert_array_equal(project(x, w, b), expected)


def test_attention_scores_are_query_key_dot_products():
    q = np.array([[[1.0, 2.0], [0.0, 1.0]]])
    k = np.array([[[3.0, 1.0], [1.0, 1.0]]])
    # q0.k0 = 3 + 2 = 5, q0.k1 = 1 + 2 = 3, q1.k0 = 0 + 1 = 1, q1.k1 = 0 + 1 = 1
    assert_array_equal(attention_scores(q, k), [[[5.0, 3.0], [1.0, 1.0]]])


def test_scale_scores_divides_every_entry():
    assert_array_equal(scale_scores(np.array([[[5.0, 3.0], [1.0, 1.0]]]), 2.0), [[[2.5, 1.5], [0.5, 0.5]]])


def test_causal_mask_is_lower_triangular():
    assert_array_equal(causal_mask(2, True), [[True, False], [True, True]])
    assert_array_equal(causal_mask(3, True), [[True, False, False], [True, True, False], [True, True, True]])
    assert_array_equal(causal_mask(2, False), [[True, True], [True, True]])


# +-1000: without subtracting the row maximum, exp would overflow or underflow to 0/0. Floats near
# 1000 are 1.1e-13 apart, so ln 3 + 1000 is off by up to 6e-14: hence rtol 1e-12.
@pytest.mark.parametrize("offset", [0.0, 1000.0, -1000.0])
def test_softmax_two_tokens(offset):
    logits = np.array([[[0.0, math.log(3.0)], [math.log(2.0), 0.0]]]) + offset
    # row 0: e^0 : e^ln3 = 1 : 3 -> [1/4, 3/4]; row 1: e^ln2 : e^0 = 2 : 1 -> [2/3, 1/3]
    assert_allclose(softmax(logits, causal_mask(2, False)), [[[0.25, 0.75], [2 / 3, 1 / 3]]], rtol=1e-12)
    # causal: token 0 sees only itself, so its whole weight is on itself, exactly
    causal = softmax(logits, causal_mask(2, True))
    assert_array_equal(causal[0, 0], [1.0, 0.0])
    assert_allclose(causal[0, 1], [2 / 3, 1 / 3], rtol=1e-12)


def test_weighted_sum_mixes_value_rows():
    weights = np.array([[[0.25, 0.75], [1.0, 0.0]]])
    v = np.array([[[4.0, 0.0], [0.0, 8.0]]])
    # row 0: 0.25 * [4, 0] + 0.75 * [0, 8] = [1, 6]; row 1: 1 * [4, 0] = [4, 0]
    assert_array_equal(weighted_sum(weights, v), [[[1.0, 6.0], [4.0, 0.0]]])


def test_concat_heads_puts_head_zero_first():
    head_outputs = np.array([[[1.0, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]])  # [h=2, n=2, d_v=2]
    # token 0: head 0's [1, 2] then head 1's [5, 6]; token 1: [3, 4] then [7, 8]
    assert_array_equal(concat_heads(head_outputs), [[1.0, 2.0, 5.0, 6.0], [3.0, 4.0, 7.0, 8.0]])


def test_output_projection():
    concat = np.array([[1.0, 2.0], [3.0, 4.0]])
    w_o = np.array([[1.0, 1.0], [0.0, 2.0]])
    b_o = np.array([1.0, -1.0])
    # [1, 2] @ w_o = [1, 1 + 4] = [1, 5], + b = [2, 4]; [3, 4] @ w_o = [3, 3 + 8] = [3, 11], + b = [4, 10]
    assert_array_equal(output_projection(concat, w_o, b_o), [[2.0, 4.0], [4.0, 10.0]])


def test_positional_encoding_two_positions():
    # PE[pos, 2i] = sin(pos / 10000^(2i/4)), PE[pos, 2i+1] = cos(...); 10000^(2/4) = 100
    expected = [
        [0.0, 1.0, 0.0, 1.0],  # position 0: sin 0, cos 0 in both pairs
        [math.sin(1.0), math.cos(1.0), math.sin(0.01), math.cos(0.01)],
    ]
    assert_allclose(positional_encoding(2, 4), expected, rtol=1e-15, atol=1e-15)


def identity_weights(d):
    eye, zeros = np.eye(d), np.zeros((1, d))
    return Weights(eye[None], eye[None], eye[None], eye, zeros, zeros, zeros, np.zeros(d))


@pytest.mark.parametrize(
    ("scale", "temperature", "causal", "logit"),
    [
        (True, 1.0, False, 2.0),  # scores 4 and 0, divided by sqrt(d_k) = 2
        (True, 2.0, False, 1.0),  # divided by sqrt(4) * T = 4
        (False, 1.0, False, 4.0),  # no scaling: the raw score
        (True, 1.0, True, 2.0),
    ],
)
def test_whole_layer_two_tokens(scale, temperature, causal, logit):
    # With identity weights Q = K = V = X. x0 = [2, 0, 0, 0], x1 = [0, 2, 0, 0]: the scores are
    # [[4, 0], [0, 4]], so after dividing each row is [logit, 0] (or [0, logit]) and the larger
    # weight is p = e^logit / (e^logit + 1).
    config = AttentionConfig(d_model=4, d_k=4, d_v=4, scale=scale, temperature=temperature, causal=causal)
    x = np.array([[2.0, 0.0, 0.0, 0.0], [0.0, 2.0, 0.0, 0.0]])
    trace = attend(config, ("a", "b"), x, np.zeros_like(x), identity_weights(4))
    p = math.exp(logit) / (math.exp(logit) + 1.0)
    assert_array_equal(trace.scores, [[[4.0, 0.0], [0.0, 4.0]]])
    assert_allclose(trace.scaled, [[[logit, 0.0], [0.0, logit]]], rtol=1e-15)
    row0 = [1.0, 0.0] if causal else [p, 1 - p]  # causal: token 0 cannot see token 1
    assert_allclose(trace.weights, [[row0, [1 - p, p]]], rtol=1e-14)
    # output row i = sum_j w_ij x_j; W_o = I, so the output is the head output
    expected = [[2 * row0[0], 2 * row0[1], 0.0, 0.0], [2 * (1 - p), 2 * p, 0.0, 0.0]]
    assert_allclose(trace.head_outputs[0], expected, rtol=1e-14)
    assert_allclose(trace.output, expected, rtol=1e-14)


def test_stages_are_keyed_by_slug_over_real_trace_fields_and_every_family_walks_known_ones():
    trace_fields = {f.name for f in dataclasses.fields(AttentionTrace)}
    assert SEVEN == ("embedding", "projection", "qkv", "scores", "scaling", "softmax", "output")
    for slug, stage in STAGES.items():
        assert stage.slug == slug and stage.title and stage.summary, stage
        assert stage.fields and set(stage.fields) <= trace_fields, stage
    for family in FAMILIES.values():
        assert family.stages and set(family.stages) <= set(STAGES), family.key
        assert len(set(family.stages)) == len(family.stages), family.key
        assert [stage_number(family.stages, slug) for slug in family.stages] == list(
            range(1, len(family.stages) + 1)
        )
