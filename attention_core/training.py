"""Watch attention learn: one self-attention layer trained on a small task, in NumPy.

The forward pass is built from the same stage functions the app shows (``project``, ``attention_scores``,
``scale_scores``, ``softmax``, ``weighted_sum``, ``concat_heads``, ``output_projection``), with a batch axis
in front. The backward pass is written by hand, each stage's gradient next to its forward step, in reverse.

    run = train("previous_token", steps=800, seed=0)
    run.accuracy[-1]           # share of the targets predicted right at the last step
    run.snapshots[-1].weights  # [n, n] the probe sentence's attention weights after training

Shapes: ``b`` sentences in a batch, ``n`` tokens each, ``h`` heads, ``V`` words in the vocabulary.
"""

import math
from dataclasses import dataclass, field

import numpy as np

from attention_core.attention import (
    AttentionConfig,
    AttentionInputError,
    Source,
    Weights,
    attend,
    attention_scores,
    causal_mask,
    check_length,
    concat_heads,
    output_projection,
    project,
    scale_scores,
    softmax,
    weighted_sum,
)
from attention_core.tokens import positional_encoding, tokenize

# The tasks' words: token t is WORDS[t]. Sixteen, so that "repeated_word" can also name 16 positions.
WORDS = (
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "dog",
    "ran",
    "to",
    "a",
    "red",
    "big",
    "box",
    "in",
    "sun",
    "and",
    "hat",
)
LENGTH = 8  # tokens in a training sentence
STEPS = 800  # a training run's length: every task is learned well before (benchmarks/bench_training.py)


class TinyModel:
    """Embeddings plus sinusoidal positions, one attention layer (with W_o), a linear readout to the words.

    ``params`` holds every learned array by name (float64); changing an entry in place changes the model.
    """

    def __init__(self, vocab_size, d_model, d_k, n_heads=1, seed=0, causal=True):
        rng = np.random.default_rng(seed)
        h = n_heads
        self.causal = causal
        self.params = {
            "embedding": rng.standard_normal((vocab_size, d_model)),  # [V, d_model]: row t is word t
            "w_q": rng.standard_normal((h, d_model, d_k)) / math.sqrt(d_model),
            "w_k": rng.standard_normal((h, d_model, d_k)) / math.sqrt(d_model),
            "w_v": rng.standard_normal((h, d_model, d_k)) / math.sqrt(d_model),
            "w_o": rng.standard_normal((h * d_k, d_model)) / math.sqrt(h * d_k),
            "w_out": rng.standard_normal((d_model, vocab_size)) / math.sqrt(d_model),  # the readout
            "b_out": np.zeros(vocab_size),
        }

    def forward(self, tokens):  # [b, n] ints -> the forward's intermediates, the logits last
        p = self.params
        n = tokens.shape[1]
        h, d_model, d_k = p["w_q"].shape
        no_bias = np.zeros((h, d_k))
        x = p["embedding"][tokens] + positional_encoding(n, d_model)  # [b, n, d_model]
        xs = x[:, None]  # [b, 1, n, d_model]: shared by the heads
        q, k, v = (project(xs, p[name], no_bias) for name in ("w_q", "w_k", "w_v"))  # [b, h, n, d_k]
        divisor = math.sqrt(d_k)
        mask = causal_mask(n, self.causal)
        weights = softmax(scale_scores(attention_scores(q, k), divisor), mask)  # [b, h, n, n]
        heads = weighted_sum(weights, v)  # [b, h, n, d_k]
        concat = concat_heads(heads)  # [b, n, h * d_k]
        y = output_projection(concat, p["w_o"], 0.0)  # [b, n, d_model]
        logits = y @ p["w_out"] + p["b_out"]  # [b, n, V]
        return {
            "x": x, "q": q, "k": k, "v": v, "divisor": divisor, "weights": weights,
            "concat": concat, "y": y, "logits": logits,
        }  # fmt: skip

    def logits(self, tokens):  # [b, n] ints -> [b, n, V]
        return self.forward(np.asarray(tokens))["logits"]

    def loss_and_grads(self, tokens, targets):  # [b, n], [b, n] (-1: no target) -> (loss, {name: grad})
        """Mean cross-entropy over the positions with a target, and its gradient for every parameter."""
        tokens = np.asarray(tokens)
        return self.backward(self.forward(tokens), tokens, np.asarray(targets))

    def backward(self, f, tokens, targets):  # forward's intermediates, [b, n], [b, n] -> (loss, {name: grad})
        p = self.params
        b, n = tokens.shape
        h, _, d_k = p["w_q"].shape
        counted = targets >= 0  # [b, n]
        total = max(int(counted.sum()), 1)
        # Cross-entropy through a stable log-softmax: subtract each row's largest logit first.
        shifted = f["logits"] - f["logits"].max(axis=-1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # [b, n, V]
        picked = np.take_along_axis(log_p, np.where(counted, targets, 0)[..., None], axis=-1)[..., 0]
        loss = -float(picked[counted].sum()) / total
        # d loss / d logits = (softmax - one-hot) / total, on the counted positions only.
        d_logits = np.exp(log_p)
        d_logits[counted, targets[counted]] -= 1.0
        d_logits *= counted[..., None] / total
        grads = {}
        # Readout: logits = y @ w_out + b_out
        grads["w_out"] = np.einsum("bnd,bnv->dv", f["y"], d_logits)
        grads["b_out"] = d_logits.sum(axis=(0, 1))
        d_y = d_logits @ p["w_out"].T  # [b, n, d_model]
        # Output projection: y = concat @ w_o
        grads["w_o"] = np.einsum("bnc,bnd->cd", f["concat"], d_y)
        d_concat = d_y @ p["w_o"].T  # [b, n, h * d_k]
        # Concatenation: undo concat_heads' reshape
        d_heads = d_concat.reshape(b, n, h, d_k).swapaxes(1, 2)  # [b, h, n, d_k]
        # Weighted sum: heads = weights @ v
        weights = f["weights"]
        d_weights = d_heads @ f["v"].swapaxes(-1, -2)  # [b, h, n, n]
        d_v = weights.swapaxes(-1, -2) @ d_heads  # [b, h, n, d_k]
        # Softmax, row by row: d s_ij = a_ij (d a_ij - sum_l a_il d a_il); masked weights are 0, so theirs too.
        d_scaled = weights * (d_weights - (weights * d_weights).sum(axis=-1, keepdims=True))
        # Scaling: scaled = scores / divisor
        d_scores = d_scaled / f["divisor"]
        # Scores: scores = q @ k^T
        d_q = d_scores @ f["k"]  # [b, h, n, d_k]
        d_k_ = d_scores.swapaxes(-1, -2) @ f["q"]
        # Projections: q = x @ w_q for every head (x shared), and the same for k and v
        d_x = np.zeros_like(f["x"])
        for name, d_out in (("w_q", d_q), ("w_k", d_k_), ("w_v", d_v)):
            grads[name] = np.einsum("bnd,bhne->hde", f["x"], d_out)
            d_x += np.einsum("bhne,hde->bnd", d_out, p[name])
        # Embedding lookup: x = embedding[tokens] + positions; a word's row gathers every use of it
        grads["embedding"] = np.zeros_like(p["embedding"])
        np.add.at(grads["embedding"], tokens, d_x)
        return loss, grads


# --- Tasks ---------------------------------------------------------------------------------------


def previous_positions(tokens):  # [b, n] -> [b, n]: each position looks at the one before (none at 0)
    positions = np.broadcast_to(np.arange(tokens.shape[1]) - 1, tokens.shape)
    return np.where(positions >= 0, positions, -1)


def first_positions(tokens):  # [b, n] -> [b, n]: every position looks at position 0
    return np.zeros(tokens.shape, dtype=int)


def first_occurrence_positions(tokens):  # [b, n] -> [b, n]: a repeated word looks at its first occurrence
    positions = np.full(tokens.shape, -1)
    for row, out in zip(tokens, positions, strict=True):
        seen = {}
        for i, word in enumerate(row.tolist()):
            out[i] = seen.get(word, -1)
            seen.setdefault(word, i)
    return positions


@dataclass(frozen=True)
class Task:
    """A small task: which position each token must look at, what it must say, and a sentence to watch."""

    name: str
    title: str  # for the page
    explanation: str  # one sentence: what each token must do
    looks_at: object  # [b, n] tokens -> [b, n] the position each token must attend to (-1: no target)
    says_position: bool  # True: the target is that position's number; False: the word found there
    probe: tuple  # the sentence the page shows, as words
    repeats: bool = False  # every training sentence has one word twice

    def targets(self, tokens):  # [b, n] -> [b, n], -1 where a position has no target
        positions = self.looks_at(tokens)
        if self.says_position:
            return positions
        found = np.take_along_axis(tokens, np.maximum(positions, 0), axis=1)
        return np.where(positions >= 0, found, -1)

    def batch(self, rng, size):  # -> (tokens [size, LENGTH], targets [size, LENGTH])
        if self.repeats:  # distinct words, then one of them comes back later
            tokens = np.array([rng.permutation(len(WORDS))[:LENGTH] for _ in range(size)])
            for row in tokens:
                first, second = np.sort(rng.choice(LENGTH, size=2, replace=False))
                row[second] = row[first]
        else:
            tokens = rng.integers(len(WORDS), size=(size, LENGTH))
        return tokens, self.targets(tokens)

    def pattern(self, tokens):  # [n] -> [n, n]: the attention weights that solve it (zero rows: no target)
        positions = self.looks_at(np.asarray(tokens)[None])[0]
        wanted = np.zeros((len(positions), len(positions)))
        rows = np.flatnonzero(positions >= 0)
        wanted[rows, positions[rows]] = 1.0
        return wanted


TASKS = {
    task.name: task
    for task in (
        Task("previous_token", "Say the word before", "Each word must say which word came just before it: it has to attend to the previous position.", previous_positions, False, ("the", "cat", "sat", "on", "a", "red", "mat")),
        Task("first_token", "Say the first word", "Every word must say the sentence's first word: it has to attend to position 0.", first_positions, False, ("a", "dog", "ran", "to", "the", "big", "box")),
        Task(
            "repeated_word", "Point at a word's first occurrence",
            "When a word comes back, it must say where it first appeared: it has to find the same word earlier "
            "in the sentence, whatever the distance.", first_occurrence_positions, True,
            ("the", "cat", "sat", "on", "the", "mat"), repeats=True,
        ),
    )
}  # fmt: skip


def probe_tokens(task):  # -> [n] ints: the task's probe sentence
    return np.array([WORDS.index(word) for word in task.probe])


# --- Training ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """The model at one step, as the page shows it."""

    step: int
    w_q: np.ndarray  # [h, d_model, d_k]
    w_k: np.ndarray  # [h, d_model, d_k]
    scores: np.ndarray  # [n, n] the probe's raw scores Q·Kᵀ, head 0
    weights: np.ndarray  # [n, n] the probe's attention weights, head 0


@dataclass
class TrainingRun:
    task: Task
    loss: np.ndarray  # [steps] the batch's loss at each step, before its update
    accuracy: np.ndarray  # [steps] share of the batch's targets the model got right, before the update
    model: TinyModel  # after the last step
    snapshots: list = field(default_factory=list)  # Snapshot every `every` steps, and at the start and end


def snapshot(model, step, probe):
    f = model.forward(probe[None])
    scores = f["q"][0, 0] @ f["k"][0, 0].T  # the probe's raw scores, head 0
    return Snapshot(step, model.params["w_q"].copy(), model.params["w_k"].copy(), scores, f["weights"][0, 0])


def train(
    task, steps=STEPS, seed=0, *, d_model=32, d_k=16, batch=64, learning_rate=0.02, every=10, progress=None
):
    """Train a TinyModel on ``task`` (a name in TASKS) with Adam; -> TrainingRun. Deterministic for a seed.

    ``progress(step, steps)``, if given, is called every ``every`` steps (the page's progress bar).
    """
    task = TASKS[task] if isinstance(task, str) else task
    rng = np.random.default_rng(seed)
    model = TinyModel(len(WORDS), d_model, d_k, seed=seed, causal=True)
    probe = probe_tokens(task)
    moments = {name: (np.zeros_like(value), np.zeros_like(value)) for name, value in model.params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8  # Adam's usual constants
    losses, accuracies, snapshots = np.zeros(steps), np.zeros(steps), [snapshot(model, 0, probe)]
    for step in range(1, steps + 1):
        tokens, targets = task.batch(rng, batch)
        f = model.forward(tokens)  # once: the loss, the gradients and the accuracy all read it
        loss, grads = model.backward(f, tokens, targets)
        counted = targets >= 0
        right = f["logits"].argmax(axis=-1) == targets
        losses[step - 1], accuracies[step - 1] = loss, right[counted].mean()
        for name, grad in grads.items():  # Adam: a step per parameter from running averages of the gradient
            first, second = moments[name]
            first += (1 - beta1) * (grad - first)
            second += (1 - beta2) * (grad**2 - second)
            corrected = first / (1 - beta1**step), second / (1 - beta2**step)
            model.params[name] -= learning_rate * corrected[0] / (np.sqrt(corrected[1]) + eps)
        if step % every == 0 or step == steps:
            snapshots.append(snapshot(model, step, probe))
            if progress:
                progress(step, steps)
    return TrainingRun(task, losses, accuracies, model, snapshots)


def trained_trace(run, sentence, source=None):  # TrainingRun, str -> AttentionTrace with learned weights
    """The sentence through the trained layer, as the app's stage pages show any model.

    ``source``: where the trace says it came from (the trained family adds its seed); by default the task."""
    words = tokenize(sentence)
    p = run.model.params
    h, d_model, d_k = p["w_q"].shape
    config = AttentionConfig(
        d_model=d_model, d_k=d_k, d_v=d_k, n_heads=h, positional="sinusoidal", causal=run.model.causal
    )
    check_length(len(words), config)  # empty or too long: the same message as every model
    unknown = [word for word in words if word.lower() not in WORDS]
    if unknown:
        raise AttentionInputError(
            f"The trained model knows only these {len(WORDS)} words: {', '.join(WORDS)}; "
            f"“{unknown[0]}” is not one of them."
        )
    positional = positional_encoding(len(words), d_model)
    x = p["embedding"][[WORDS.index(word.lower()) for word in words]] + positional
    no_bias = np.zeros((h, d_k))
    weights = Weights(p["w_q"], p["w_k"], p["w_v"], p["w_o"], no_bias, no_bias, no_bias, np.zeros(d_model))
    source = source or Source("trained", 0, (("task", run.task.name),), f"trained: {run.task.title.lower()}")
    return attend(config, words, x, positional, weights, source=source)
