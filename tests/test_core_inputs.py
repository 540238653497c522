"""Bad input is refused with a message a student can read; extreme but valid input stays finite."""

import dataclasses
import math

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from attention_core import AttentionConfig, AttentionInputError, run_attention


def test_the_error_is_a_value_error():
    assert issubclass(AttentionInputError, ValueError)


@pytest.mark.parametrize(
    ("sentence", "message"),
    [
        ("", "Type at least one word"),
        ("   \t\n ", "Type at least one word"),
        ("\u200b\u2060", "Type at least one word"),  # only invisible characters
        ("one two three four five", "That is 5 tokens; the limit is 4"),
        ("x" * 100_000, "characters long"),  # refused before tokenizing
        (None, "must be text"),
        (b"the cat", "must be text"),
        (["the", "cat"], "must be text"),
    ],
)
def test_bad_sentence(sentence, message):
    with pytest.raises(AttentionInputError, match=message):
        run_attention(sentence, AttentionConfig(max_tokens=4))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"d_k": 0}, "d_k must be between 1 and"),
        ({"d_k": -3}, "d_k must be between 1 and"),
        ({"d_v": 0}, "d_v must be between 1 and"),
        ({"d_model": 0}, "d_model must be between 1 and"),
        ({"n_heads": 0}, "n_heads must be between 1 and"),
        ({"max_tokens": 0}, "max_tokens must be between 1 and"),
        ({"seed": -1}, "seed must be between 0 and"),
        ({"temperature": 0}, "Temperature must be a number from"),
        ({"temperature": -1.0}, "Temperature must be a number from"),
        ({"temperature": math.nan}, "Temperature must be a number from"),
        ({"temperature": math.inf}, "Temperature must be a number from"),
        ({"temperature": -math.inf}, "Temperature must be a number from"),
        ({"temperature": 1e-9}, "Temperature must be a number from"),  # 1/T would overflow the scores
        ({"temperature": None}, "Temperature must be a number"),
        ({"temperature": "0.5"}, "Temperature must be a number"),
        ({"temperature": True}, "Temperature must be a number"),
        ({"positional": "learned"}, "Positional encoding must be one of none, sinusoidal"),
        ({"positional": None}, "Positional encoding must be one of"),
        ({"d_model": 10**9}, "d_model must be between 1 and"),
        ({"n_heads": 10**6}, "n_heads must be between 1 and"),
        ({"max_tokens": 10**9}, "max_tokens must be between 1 and"),
        ({"d_model": 4096, "d_k": 4096, "n_heads": 64}, "too large"),
        ({"d_k": True}, "d_k must be"),
        ({"n_heads": False}, "n_heads must be"),
        ({"d_model": "8"}, "d_model must be a whole number"),
        ({"d_v": 4.0}, "d_v must be a whole number"),
        ({"seed": 1.5}, "seed must be a whole number"),
        ({"max_tokens": "64"}, "max_tokens must be a whole number"),
        ({"causal": "yes"}, "causal must be True or False"),
        ({"scale": 1}, "scale must be True or False"),
    ],
)
def test_bad_setting(settings, message):
    with pytest.raises(AttentionInputError, match=message):
        AttentionConfig(**settings)


@pytest.mark.parametrize(
    ("settings", "n"),
    [
        ({"n_heads": 2, "max_tokens": 4096}, 4096),  # 2 x 4096 x 4096 weights: 256 MiB
        # Each of Q, K and V would be 64 x 512 x 1024 floats: 256 MiB apiece.
        ({"d_model": 1, "d_k": 1024, "d_v": 1, "n_heads": 64, "max_tokens": 512}, 512),
        ({"d_model": 1, "d_k": 1, "d_v": 1024, "n_heads": 64, "max_tokens": 512}, 512),
    ],
)
def test_absurd_sizes_are_refused_before_computing(settings, n):
    with pytest.raises(AttentionInputError, match="too large"):
        run_attention("a " * n, AttentionConfig(**settings))


def assert_finite_probabilities(trace):
    for field in dataclasses.fields(trace):
        value = getattr(trace, field.name)
        if isinstance(value, np.ndarray) and value.dtype != bool:
            assert np.all(np.isfinite(value)), field.name
    assert np.all(trace.weights >= 0)
    assert_allclose(trace.weights.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    assert_array_equal(trace.weights[:, ~trace.mask], 0.0)  # masked entries exactly 0


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize(
    "settings",
    [
        {"temperature": 1e-6},
        {"temperature": 1e6},
        {"d_model": 64, "d_k": 1024, "scale": False},
        {"d_model": 64, "d_k": 1024, "scale": False, "temperature": 1e-6},  # logits near 1e8
        {"d_model": 1, "d_k": 1, "d_v": 1},
    ],
)
def test_extreme_settings_stay_finite(settings, causal):
    trace = run_attention("the cat sat on the mat", AttentionConfig(causal=causal, **settings))
    assert_finite_probabilities(trace)


@pytest.mark.parametrize("causal", [False, True])
def test_max_tokens_is_allowed(causal):
    sentence = " ".join(f"w{i}" for i in range(512))
    trace = run_attention(sentence, AttentionConfig(max_tokens=512, causal=causal))
    assert trace.weights.shape == (1, 512, 512)
    assert_finite_probabilities(trace)


def test_extreme_temperatures_do_what_they_say():  # distinct words: a tie would split the top weight
    sharp = run_attention("the cat sat on a mat", AttentionConfig(temperature=1e-6)).weights
    flat = run_attention("the cat sat on a mat", AttentionConfig(temperature=1e6)).weights
    assert_allclose(sharp.max(axis=-1), 1.0, atol=1e-9)  # all weight on the best key
    assert_allclose(flat, 1 / 6, rtol=1e-5)  # spread evenly over the six keys
