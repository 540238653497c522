"""Predict, then reveal: questions made from the current trace, and how close a guess was.

Plain functions (no Streamlit): the questions come from the sentence and numbers at hand, never from a
fixed example, and the tests check each answer against the trace.
"""

from dataclasses import dataclass

import numpy as np

from attention_core import output_terms
from attention_viz.frames import token_labels


@dataclass(frozen=True)
class Question:
    prompt: str  # may contain tokens: user text, to escape before rendering as markdown
    options: tuple  # token labels to choose from; empty for a numeric answer
    answer: object  # the right label, or the right number
    tolerance: float  # a numeric guess this close counts as right
    reveal: str  # one sentence saying why the answer is what it is


def _cell(trace, draw):  # -> (labels, query i, an allowed key j), chosen by the integer draw
    labels = token_labels(trace.tokens)
    rng = np.random.default_rng(draw)
    i = int(rng.integers(len(labels)))
    j = int(rng.choice(np.flatnonzero(trace.mask[i])))
    return labels, i, j


def _which_key(trace, labels, i, prompt, best, reveal):  # -> "which token…?": the keys query i may see
    options = tuple(labels[k] for k in np.flatnonzero(trace.mask[i]))
    return Question(prompt, options, labels[best], 0.0, reveal)


def scores(trace, head, draw):
    labels, i, _ = _cell(trace, draw)
    best = int(np.argmax(np.where(trace.mask[i], trace.scores[head, i], -np.inf)))
    prompt = f"Which key gets the highest raw score from the query “{labels[i]}”?"
    return _which_key(
        trace,
        labels,
        i,
        prompt,
        best,
        f"q·k is largest for “{labels[best]}”: {trace.scores[head, i, best]:.2f}.",
    )


def scaling(trace, head, draw):
    labels, i, j = _cell(trace, draw)
    raw, scaled = trace.scores[head, i, j], trace.scaled[head, i, j]
    return Question(
        f"The raw score of “{labels[i]}” with “{labels[j]}” is {raw:.2f}. Roughly what is it after dividing "
        f"by {trace.divisor:.3g} (√d_k × temperature)?",
        (),
        float(scaled),
        max(0.05, 0.1 * abs(float(scaled))),
        f"{raw:.2f} / {trace.divisor:.3g} = {scaled:.2f}.",
    )


def softmax(trace, head, draw):
    labels, i, _ = _cell(trace, draw)
    best = int(np.argmax(trace.weights[head, i]))
    reveal = f"Its largest softmax weight, {trace.weights[head, i, best]:.2f}, goes to “{labels[best]}”."
    return _which_key(trace, labels, i, f"Which token will “{labels[i]}” attend to most?", best, reveal)


def output(trace, head, draw):
    labels, i, _ = _cell(trace, draw)
    sizes = np.linalg.norm(output_terms(trace, head, i).contributions, axis=1)  # |weight_j × v_j|
    best = int(np.argmax(sizes))
    prompt = (
        f"Which token's value vector adds the most to the output of “{labels[i]}” (the longest weight × V)?"
    )
    reveal = (
        f"weight × V is longest for “{labels[best]}”: weight {trace.weights[head, i, best]:.2f}, "
        f"length {sizes[best]:.2f}. A big weight on a short value vector can add less than a smaller one."
    )
    return _which_key(trace, labels, i, prompt, best, reveal)


def rotate(trace, head, draw):  # a rotation turns a vector and keeps its length
    labels, i, _ = _cell(trace, draw)
    before, after = (np.linalg.norm(m[head, i]) for m in (trace.q_before_rotation, trace.q))
    return Question(
        f"The query of “{labels[i]}” is rotated by its position. Afterwards, is it longer, shorter, or just as long?",
        ("longer", "shorter", "just as long"),
        "just as long",
        0.0,
        f"A rotation only turns it: its length is {before:.3f} before and {after:.3f} after.",
    )


def grade(question, guess):  # -> (right, a sentence saying how close)
    if question.options:
        right = guess == question.answer
        return right, "Right!" if right else f"Not quite: the answer is “{question.answer}”."
    off = abs(float(guess) - question.answer)
    right = off <= question.tolerance
    return right, f"{'Close enough' if right else 'Not quite'}: you were off by {off:.2f}."
