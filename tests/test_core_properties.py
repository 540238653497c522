"""Invariants of attention that must hold for any sentence and any valid settings."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from attention_core import AttentionConfig, attend, init_weights, run_attention

# Words the tokenizer keeps whole, so " ".join(words) tokenizes back to exactly these tokens.
WORDS = ("the", "cat", "sat", "on", "mat", "a", "dog", "The", "ran", ",", ".", "über", "猫")
word_lists = st.lists(st.sampled_from(WORDS), min_size=1, max_size=10)
examples = settings(max_examples=50, deadline=None)
VALID_TEMPERATURES = st.floats(1e-6, 1e6)


def configs(temperature=VALID_TEMPERATURES, **fixed):
    fields = {
        "d_model": st.integers(1, 12),
        "d_k": st.integers(1, 12),
        "d_v": st.integers(1, 12),
        "n_heads": st.integers(1, 3),
        "seed": st.integers(0, 2**32 - 1),
        "positional": st.sampled_from(("none", "sinusoidal")),
        "causal": st.booleans(),
        "scale": st.booleans(),
        "temperature": temperature,
    }
    fields.update({name: st.just(value) for name, value in fixed.items()})
    return st.builds(AttentionConfig, **fields)


@examples
@given(configs(), word_lists)
def test_weights_are_probability_rows(config, words):
    weights = run_attention(" ".join(words), config).weights
    assert np.all(weights >= 0)
    assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-12)


@examples
@given(configs(temperature=st.floats(0.1, 10)), word_lists, st.data())
def test_adding_a_constant_to_a_row_of_scores_changes_nothing(config, words, data):
    trace = run_attention(" ".join(words), config)
    h, n, _ = trace.scores.shape
    shifts = data.draw(st.lists(st.floats(-1e3, 1e3), min_size=h * n, max_size=h * n))
    shifted = trace.scores + np.reshape(shifts, (h, n, 1))  # one constant per (head, query) row
    edited = attend(config, trace.tokens, trace.x, trace.positional, init_weights(config), scores=shifted)
    # The shift costs up to eps * 1e3 / T in each logit, so agreement is to ~1e-11, not to eps.
    assert_allclose(edited.weights, trace.weights, rtol=0, atol=1e-10)
    assert_allclose(edited.output, trace.output, rtol=1e-9, atol=1e-9)


@examples
@given(configs(causal=False, positional="none"), word_lists, st.data())
def test_permuting_the_tokens_permutes_the_outputs(config, words, data):
    order = data.draw(st.permutations(range(len(words))))
    trace = run_attention(" ".join(words), config)
    permuted = run_attention(" ".join(words[i] for i in order), config)
    assert permuted.tokens == tuple(trace.tokens[i] for i in order)
    # Permuted rows may be summed in another order: an error of eps * |scaled| in a score moves a weight by
    # about that much, and a tiny temperature makes |scaled| huge, so the slack follows |scaled|.
    slack = 64 * np.finfo(float).eps * max(1.0, float(np.abs(trace.scaled).max()))
    assert_allclose(
        permuted.weights, trace.weights[:, order][:, :, order], rtol=1e-12, atol=max(1e-15, slack)
    )
    assert_allclose(permuted.output, trace.output[order], rtol=1e-12, atol=max(1e-14, 10 * slack))


@examples
@given(configs(causal=True), word_lists, word_lists, word_lists)
def test_causal_rows_never_look_ahead(config, prefix, tail, other_tail):
    trace = run_attention(" ".join(prefix + tail), config)
    other = run_attention(" ".join(prefix + other_tail), config)
    assert_array_equal(np.triu(trace.weights, k=1), np.zeros_like(trace.weights))  # exactly zero
    # Whatever follows, the first len(prefix) tokens get the same weights and outputs.
    m = len(prefix)
    assert_allclose(trace.weights[:, :m, :m], other.weights[:, :m, :m], rtol=1e-12, atol=1e-15)
    assert_allclose(trace.output[:m], other.output[:m], rtol=1e-12, atol=1e-14)


@examples
@given(configs(), word_lists)
def test_shapes_as_documented(config, words):
    trace = run_attention(" ".join(words), config)
    n, h = len(words), config.n_heads
    d_model, d_k, d_v = config.d_model, config.d_k, config.d_v
    documented = {  # the comments on AttentionTrace
        "x": (n, d_model),
        "positional": (n, d_model),
        "embeddings": (n, d_model),
        "w_q": (h, d_model, d_k),
        "w_k": (h, d_model, d_k),
        "w_v": (h, d_model, d_v),
        "b_q": (h, d_k),
        "b_k": (h, d_k),
        "b_v": (h, d_v),
        "q": (h, n, d_k),
        "k": (h, n, d_k),
        "v": (h, n, d_v),
        "scores": (h, n, n),
        "scaled": (h, n, n),
        "mask": (n, n),
        "weights": (h, n, n),
        "head_outputs": (h, n, d_v),
        "concat": (n, h * d_v),
        "w_o": (h * d_v, d_model),
        "b_o": (d_model,),
        "output": (n, d_model),
    }
    arrays = {name for name, value in vars(trace).items() if isinstance(value, np.ndarray)}
    assert arrays == set(documented) - {"embeddings"}, "a new trace array needs a documented shape"
    for name, shape in documented.items():
        array = getattr(trace, name)
        assert array.shape == shape, name
        assert array.dtype == (bool if name == "mask" else np.float64), name
    assert len(trace.tokens) == n
