"""attention_core.training: the hand-written backward pass against finite differences and torch autograd,
the tasks' targets and patterns, and training that learns each task, the same way for a seed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attention_core.tokens import positional_encoding
from attention_core.training import LENGTH, TASKS, WORDS, TinyModel, probe_tokens, train


def random_case(vocab, d_model, d_k, heads, b, n, seed):  # -> (model, tokens, targets) with some -1 targets
    rng = np.random.default_rng(seed)
    model = TinyModel(vocab, d_model, d_k, n_heads=heads, seed=seed, causal=bool(seed % 2))
    tokens = rng.integers(vocab, size=(b, n))
    targets = np.where(rng.random((b, n)) < 0.3, -1, rng.integers(vocab, size=(b, n)))
    targets[0, 0] = 0  # at least one counted position
    return model, tokens, targets


sizes = st.tuples(
    st.integers(2, 7), st.integers(2, 6), st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(1, 5),
    st.integers(0, 10_000),
)  # fmt: skip


@settings(max_examples=15, deadline=None)
@given(sizes)
def test_gradients_match_central_finite_differences(case):
    model, tokens, targets = random_case(*case)
    _, grads = model.loss_and_grads(tokens, targets)
    step = 1e-6
    rng = np.random.default_rng(case[-1])
    for name, value in model.params.items():
        assert grads[name].shape == value.shape, name
        for index in map(tuple, rng.integers(0, value.shape, size=(4, value.ndim))):  # four entries each
            kept = value[index]
            value[index] = kept + step
            up, _ = model.loss_and_grads(tokens, targets)
            value[index] = kept - step
            down, _ = model.loss_and_grads(tokens, targets)
            value[index] = kept
            numeric = (up - down) / (2 * step)
            assert grads[name][index] == pytest.approx(numeric, rel=1e-6, abs=1e-8), (name, index)


@settings(max_examples=10, deadline=None)
@given(sizes)
def test_gradients_match_torch_autograd(case):
    torch = pytest.importorskip("torch")
    model, tokens, targets = random_case(*case)
    loss, grads = model.loss_and_grads(tokens, targets)
    p = {name: torch.tensor(value, requires_grad=True) for name, value in model.params.items()}
    b, n = tokens.shape
    h, d_model, d_k = model.params["w_q"].shape
    x = p["embedding"][torch.tensor(tokens)] + torch.tensor(positional_encoding(n, d_model))
    q, k, v = (torch.einsum("bnd,hde->bhne", x, p[name]) for name in ("w_q", "w_k", "w_v"))
    scores = q @ k.transpose(-1, -2) / d_k**0.5
    if model.causal:
        scores = scores.masked_fill(~torch.tril(torch.ones(n, n, dtype=torch.bool)), float("-inf"))
    heads = torch.softmax(scores, dim=-1) @ v
    y = heads.transpose(1, 2).reshape(b, n, h * d_k) @ p["w_o"]
    logits = y @ p["w_out"] + p["b_out"]
    counted = torch.tensor(targets >= 0)
    reference = torch.nn.functional.cross_entropy(logits[counted], torch.tensor(targets)[counted])
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-9)
    for name in model.params:
        np.testing.assert_allclose(grads[name], p[name].grad.numpy(), rtol=1e-6, atol=1e-12, err_msg=name)


def test_changing_a_parameter_in_place_changes_the_model():
    model, tokens, _ = random_case(5, 4, 2, 1, 2, 3, 1)
    before = model.logits(tokens).copy()
    model.params["w_out"] *= 2.0
    assert not np.allclose(model.logits(tokens), before)
    assert model.logits(tokens).shape == (2, 3, 5)


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_tasks_targets_are_the_words_its_pattern_points_at(name):
    task = TASKS[name]
    tokens, targets = task.batch(np.random.default_rng(0), 50)
    assert tokens.shape == targets.shape == (50, LENGTH)
    assert (targets >= 0).any(axis=1).all()  # every sentence has something to learn
    for row, wanted in zip(tokens, targets, strict=True):
        pattern = task.pattern(row)
        for i, target in enumerate(wanted):
            if target < 0:
                assert not pattern[i].any()
                continue
            (j,) = np.flatnonzero(pattern[i])
            assert j <= i  # the causal mask allows it
            assert target == (j if task.says_position else row[j])


def test_the_patterns_written_out():
    previous = TASKS["previous_token"].pattern([0, 1, 2])
    np.testing.assert_array_equal(previous, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(TASKS["first_token"].pattern([4, 5]), [[1, 0], [1, 0]])
    the_cat_sat_on_the_mat = probe_tokens(TASKS["repeated_word"])
    repeated = TASKS["repeated_word"].pattern(the_cat_sat_on_the_mat)
    assert [WORDS[t] for t in the_cat_sat_on_the_mat] == ["the", "cat", "sat", "on", "the", "mat"]
    assert np.flatnonzero(repeated.any(axis=1)).tolist() == [4] and repeated[4, 0] == 1


@pytest.mark.parametrize("name", sorted(TASKS))
def test_each_task_is_learned_and_the_same_for_a_seed(name):
    run = train(name, seed=3)  # the page's steps
    assert run.accuracy[:10].mean() < 0.5 < 0.95 <= run.accuracy[-20:].mean()
    assert run.loss[-1] < run.loss[0] / 10
    np.testing.assert_array_equal(train(name, steps=30, seed=3).loss, run.loss[:30])  # the same for a seed
    weights = run.snapshots[-1].weights
    wanted = TASKS[name].pattern(probe_tokens(TASKS[name]))
    rows = wanted.any(axis=1)
    # The probe sentence's rows put their most weight where the task needs it
    np.testing.assert_array_equal(weights[rows].argmax(axis=1), wanted[rows].argmax(axis=1))
