"""Stage 1: the tokenizer, token embeddings that never change, and positional encoding."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from attention_core import AttentionConfig, embed, run_attention, tokenize

ROOT = Path(__file__).resolve().parents[1]
# The characters the tokenizer treats specially, mixed into otherwise arbitrary text: apostrophes,
# zero-width space and joiner, a combining accent, a right-to-left override, flag letters, a skin tone.
TRICKY = st.sampled_from("'\u2019\u200b\u200d\u0301\u202e\U0001f1eb\U0001f1f7\U0001f3fde ")


@pytest.mark.parametrize(
    ("sentence", "tokens"),
    [
        ("the cat sat,", ("the", "cat", "sat", ",")),
        ("The cat sat on the mat.", ("The", "cat", "sat", "on", "the", "mat", ".")),
        ("don't stop", ("don't", "stop")),  # an inner apostrophe stays in the word
        ("it\u2019s l'été", ("it\u2019s", "l'été")),  # typographic apostrophe, accented letters
        ("'quoted'", ("'", "quoted", "'")),  # outer apostrophes are quotes, not part of the word
        ("cafe\u0301 naïve", ("café", "naïve")),  # e + combining acute is the same word as é
        ("cafe\u200b\u0301", ("café",)),  # ...even with a zero-width space dropped in between
        ("東京 は 大きい。", ("東京", "は", "大きい", "。")),
        ("I 👍🏽 it", ("I", "👍🏽", "it")),  # skin-tone modifier stays on its emoji
        ("👨\u200d👩\u200d👧 🇫🇷🇩🇪", ("👨\u200d👩\u200d👧", "🇫🇷", "🇩🇪")),  # ZWJ family; two flags
        ("a\u202eb c", ("ab", "c")),  # an invisible right-to-left override is dropped
        ("  tabs\tand\nnewlines  ", ("tabs", "and", "newlines")),
        ("", ()),
        (" \t\n\u3000 ", ()),
    ],
)
def test_tokenize(sentence, tokens):
    assert tokenize(sentence) == tokens


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(codec="utf-8") | TRICKY, max_size=40))
def test_tokenize_any_text_into_visible_pieces(text):
    tokens = tokenize(text)
    assert all(token and not any(ch.isspace() for ch in token) for token in tokens)
    # Tokens are already split and normalised: joining them with spaces gives them back.
    assert tokenize(" ".join(tokens)) == tokens


def test_tokenize_lone_surrogate_does_not_crash():
    tokens = tokenize("\ud800 hi")  # can arrive from a badly decoded paste
    assert tokens[-1] == "hi"
    assert embed(tokens, 4, 0).shape == (2, 4)


def test_same_token_same_embedding_in_any_sentence():
    config = AttentionConfig(d_model=8, seed=7)
    first = run_attention("the cat sat", config)
    second = run_attention("a dog saw The cat", config)
    assert_array_equal(first.x[0], second.x[3])  # "the" and "The" share one embedding
    assert_array_equal(first.x[1], second.x[4])  # "cat"
    assert_array_equal(run_attention("the cat sat", config).x, first.x)  # and again, later
    assert not np.array_equal(first.x[0], first.x[1])  # different tokens differ


def test_the_seed_chooses_the_embeddings():
    assert not np.array_equal(embed(("cat",), 8, 0), embed(("cat",), 8, 1))
    assert_array_equal(embed(("cat",), 8, 0), embed(("Cat",), 8, 0))


def test_embeddings_do_not_depend_on_python_string_hashing():
    tokens = ("the", "猫", "👍🏽", "Café")
    code = f"from attention_core import embed; print(embed({tokens!r}, 8, 7).tobytes().hex())"
    runs = {
        hash_seed: subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for hash_seed in ("1", "2")
    }
    here = embed(tokens, 8, 7).tobytes().hex()
    assert runs["1"] == runs["2"] == here


def test_positional_encoding_tells_the_two_thes_apart():
    sentence = "the cat sat on the mat"
    plain = run_attention(sentence, AttentionConfig(positional="none"))
    encoded = run_attention(sentence, AttentionConfig(positional="sinusoidal"))
    assert plain.tokens[0] == plain.tokens[4] == "the"
    assert_array_equal(plain.x[0], plain.x[4])  # no positions: the same word is the same row
    assert not np.allclose(encoded.x[0], encoded.x[4])  # positions 0 and 4 differ
    # Only the positional part differs. ``embeddings`` is x - positional, so it may be 1 ulp off.
    assert_allclose(encoded.embeddings[0], encoded.embeddings[4], rtol=0, atol=1e-15)
    assert_array_equal(plain.positional, np.zeros_like(plain.x))
