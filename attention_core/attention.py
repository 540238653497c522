"""Stages 2-7: projections, scores, scaling, softmax and the weighted sum of values."""

import math
import numbers
import operator
from dataclasses import dataclass, field

import numpy as np

from attention_core.tokens import embed, positional_encoding, tokenize

POSITIONAL_KINDS = ("none", "sinusoidal")
MAX_DIM = 4096  # d_model, d_k, d_v: far past what a page can show
MAX_HEADS = 64
MAX_TOKENS = 4096
MAX_CELLS = 2**24  # h * n * n (and weights of one projection): about 128 MiB per float64 array
TEMPERATURE_RANGE = (1e-6, 1e6)  # beyond this the scaled scores could overflow float64


class AttentionInputError(ValueError):
    """A setting or sentence the computation cannot use; the message is meant for a student."""


def _whole_number(name, value, low, high):
    try:
        number = operator.index(value)
    except TypeError:
        raise AttentionInputError(f"{name} must be a whole number, not {value!r}.") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise AttentionInputError(f"{name} must be between {low} and {high}; got {value!r}.")
    return number


@dataclass(frozen=True)
class AttentionConfig:
    """The settings of one attention layer; checked when it is made."""

    d_model: int = 8  # width of each token's vector in X
    d_k: int = 4  # width of queries and keys; scores are divided by sqrt(d_k)
    d_v: int = 4  # width of values, and so of each head's output
    n_heads: int = 1  # heads run side by side on the same X
    seed: int = 0  # fixes the embeddings and the weights
    positional: str = "none"  # "none" or "sinusoidal" (added to the embeddings)
    causal: bool = False  # True: a token sees only itself and the tokens before it
    scale: bool = True  # False: skip the division by sqrt(d_k), to see why it is there
    temperature: float = 1.0  # softmax(scores / T): T < 1 sharpens, T > 1 flattens
    max_tokens: int = 64  # longer sentences are refused

    def __post_init__(self):
        for name, high in (("d_model", MAX_DIM), ("d_k", MAX_DIM), ("d_v", MAX_DIM)):
            _whole_number(name, getattr(self, name), 1, high)
        _whole_number("n_heads", self.n_heads, 1, MAX_HEADS)
        _whole_number("seed", self.seed, 0, 2**32 - 1)
        _whole_number("max_tokens", self.max_tokens, 1, MAX_TOKENS)
        if self.positional not in POSITIONAL_KINDS:
            raise AttentionInputError(
                f"Positional encoding must be one of {', '.join(POSITIONAL_KINDS)}; got {self.positional!r}."
            )
        for name in ("causal", "scale"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise AttentionInputError(f"{name} must be True or False; got {getattr(self, name)!r}.")
        if isinstance(self.temperature, (bool, np.bool_)) or not isinstance(self.temperature, numbers.Real):
            raise AttentionInputError(f"Temperature must be a number; got {self.temperature!r}.")
        temperature = float(self.temperature)
        low, high = TEMPERATURE_RANGE
        if not (math.isfinite(temperature) and low <= temperature <= high):
            raise AttentionInputError(
                f"Temperature must be a number from {low:g} to {high:g}; got {self.temperature!r}."
            )
        if self.n_heads * self.d_model * max(self.d_k, self.d_v) > MAX_CELLS:
            raise AttentionInputError(
                "These sizes are too large to compute here: lower d_model, d_k, d_v or heads."
            )


@dataclass(frozen=True)
class Weights:
    """The learned parameters of one attention layer (biases are zero in the random model)."""

    w_q: np.ndarray  # [h, d_model, d_k]
    w_k: np.ndarray  # [h, d_model, d_k]
    w_v: np.ndarray  # [h, d_model, d_v]
    w_o: np.ndarray  # [h * d_v, d_model]
    b_q: np.ndarray  # [h, d_k]
    b_k: np.ndarray  # [h, d_k]
    b_v: np.ndarray  # [h, d_v]
    b_o: np.ndarray  # [d_model]


@dataclass(frozen=True)
class Source:
    """Where a trace came from, as data: pages ask the family, never compare captions."""

    family: str = "random"  # the key of its family in attention_core.families.FAMILIES
    layer: int = 0  # counted from 0; a one-layer model has only 0
    options: tuple = ()  # the family's options it was run with, as (name, value) pairs
    caption: str = "random weights"  # for display: "all-MiniLM-L6-v2 · layer 3"


@dataclass(frozen=True, eq=False)
class AttentionTrace:
    """Every intermediate of one forward pass, float64, named as on the stage pages."""

    config: AttentionConfig
    tokens: tuple  # n strings
    x: np.ndarray  # [n, d_model] the layer's input: embeddings + positional
    positional: np.ndarray  # [n, d_model] zeros when there is no positional encoding
    w_q: np.ndarray  # [h, d_model, d_k]
    w_k: np.ndarray  # [h, d_model, d_k]
    w_v: np.ndarray  # [h, d_model, d_v]
    b_q: np.ndarray  # [h, d_k]
    b_k: np.ndarray  # [h, d_k]
    b_v: np.ndarray  # [h, d_v]
    q: np.ndarray  # [h, n, d_k]
    k: np.ndarray  # [h, n, d_k]
    v: np.ndarray  # [h, n, d_v]
    scores: np.ndarray  # [h, n, n] Q K^T
    scaled: np.ndarray  # [h, n, n] scores / sqrt(d_k) / temperature
    mask: np.ndarray  # [n, n] True where query i may attend to key j
    weights: np.ndarray  # [h, n, n] softmax rows; exactly 0 where masked
    head_outputs: np.ndarray  # [h, n, d_v]
    concat: np.ndarray  # [n, h * d_v]
    w_o: np.ndarray  # [h * d_v, d_model]
    b_o: np.ndarray  # [d_model]
    output: np.ndarray  # [n, d_model]
    source: Source = Source()  # where the weights came from
    divisor: float = field(default=1.0)  # what the scores were divided by: sqrt(d_k) * temperature
    # A decoder LLM (llm.py) rotates Q and K by position (RoPE) and shares K and V between query heads.
    q_before_rotation: np.ndarray | None = None  # [h, n, d_k] X W_q; None where nothing rotates
    k_before_rotation: np.ndarray | None = None  # [h, n, d_k] X W_k, per query head
    rope_theta: float | None = None  # RoPE's base: pair i of d_k turns by position * theta^(-2i/d_k)
    kv_heads: int | None = None  # heads with their own W_k and W_v: n_heads (the default) unless shared

    def __post_init__(self):
        if self.kv_heads is None:  # the default depends on config; frozen, so set through object
            object.__setattr__(self, "kv_heads", self.config.n_heads)

    @property
    def embeddings(self):  # [n, d_model] X without the positional part
        return self.x - self.positional


def init_weights(config):  # AttentionConfig -> Weights
    """Random weights at a readable scale: std 1/sqrt(fan_in) keeps Q, K, V entries near unit size."""
    rng = np.random.default_rng(config.seed)
    h, d_model, d_k, d_v = config.n_heads, config.d_model, config.d_k, config.d_v
    return Weights(
        w_q=rng.standard_normal((h, d_model, d_k)) / math.sqrt(d_model),
        w_k=rng.standard_normal((h, d_model, d_k)) / math.sqrt(d_model),
        w_v=rng.standard_normal((h, d_model, d_v)) / math.sqrt(d_model),
        w_o=rng.standard_normal((h * d_v, d_model)) / math.sqrt(h * d_v),
        b_q=np.zeros((h, d_k)),
        b_k=np.zeros((h, d_k)),
        b_v=np.zeros((h, d_v)),
        b_o=np.zeros(d_model),
    )


def project(x, w, b):  # [n, d_model], [h, d_model, d], [h, d] -> [h, n, d]
    return x @ w + b[:, None, :]  # x is shared by all heads: [n, d_model] broadcasts over h


def rotation_angles(positions, d_k, theta):  # n positions -> [n, d_k // 2]
    speeds = theta ** (-np.arange(0, d_k, 2) / d_k)  # pair 0 turns 1 radian per position, the last ~1/theta
    return np.outer(positions, speeds)


def rotate(x, positions, theta):  # [h, n, d_k], n positions, float -> [h, n, d_k]
    """RoPE: coordinates (2i, 2i+1) of row p are a point in a plane, turned by angle p * theta^(-2i/d_k).

    Turning a query and a key by their own positions makes their dot product depend on the distance
    between them, not on where they are. As in the RoFormer paper, each pair is the complex number
    x_2i + i x_2i+1, and multiplying it by e^(i angle) turns it.
    """
    angles = rotation_angles(positions, x.shape[-1], theta)  # float64 whatever x is: exact angles
    pairs = np.ascontiguousarray(x).view(np.result_type(x.dtype, 1j))  # [h, n, d_k // 2] complex
    return (pairs * np.exp(1j * angles).astype(pairs.dtype)).view(x.dtype)


def attention_scores(q, k):  # [h, n, d_k], [h, n, d_k] -> [h, n, n]
    return q @ k.swapaxes(-1, -2)  # entry (i, j) = q_i . k_j, how well key j matches query i


def scale_scores(scores, divisor):  # [h, n, n], float -> [h, n, n]
    return scores / divisor


def causal_mask(n, causal):  # -> [n, n] bool
    allowed = np.ones((n, n), dtype=bool)
    return np.tril(allowed) if causal else allowed  # lower triangle: key j <= query i


def softmax(scaled, mask):  # [h, n, n], [n, n] -> [h, n, n]
    logits = np.where(mask, scaled, -np.inf)  # exp(-inf) = 0: masked keys get exactly zero weight
    logits -= logits.max(axis=-1, keepdims=True)  # largest is 0, so exp never overflows
    exps = np.exp(logits, out=logits)  # in place: these [h, n, n] arrays are the layer's largest
    exps /= exps.sum(axis=-1, keepdims=True)
    return exps


def weighted_sum(weights, v):  # [h, n, n], [h, n, d_v] -> [h, n, d_v]
    return weights @ v  # row i = sum_j weights[i, j] * v_j


def concat_heads(head_outputs):  # [..., h, n, d_v] -> [..., n, h * d_v] (training adds a batch axis)
    *batch, h, n, d_v = head_outputs.shape
    return head_outputs.swapaxes(-3, -2).reshape(*batch, n, h * d_v)  # head 0's columns first


def output_projection(concat, w_o, b_o):  # [n, h * d_v], [h * d_v, d_model], [d_model] -> [n, d_model]
    return concat @ w_o + b_o


def attend(
    config, tokens, x, positional, weights, *, scores=None, source=Source(), rope_theta=None, kv_heads=None
):
    """Stages 2-7 for a given X; ``scores`` replaces Q K^T (used by "what if" edits).

    ``rope_theta``: rotate Q and K by position first, as a decoder LLM does (``rotate``); ``kv_heads``: how
    many distinct key/value heads ``weights`` repeats (grouped-query attention), for the trace to say."""
    q = project(x, weights.w_q, weights.b_q)
    k = project(x, weights.w_k, weights.b_k)
    v = project(x, weights.w_v, weights.b_v)
    q_before = k_before = None
    if rope_theta is not None:
        positions = np.arange(len(tokens))
        q_before, k_before = q, k
        q, k = rotate(q, positions, rope_theta), rotate(k, positions, rope_theta)
    scores = attention_scores(q, k) if scores is None else np.asarray(scores, dtype=np.float64)
    divisor = (math.sqrt(config.d_k) if config.scale else 1.0) * float(config.temperature)
    scaled = scale_scores(scores, divisor)
    mask = causal_mask(len(tokens), config.causal)
    attention_weights = softmax(scaled, mask)
    head_outputs = weighted_sum(attention_weights, v)
    concat = concat_heads(head_outputs)
    return AttentionTrace(
        config=config,
        tokens=tuple(tokens),
        x=x,
        positional=positional,
        w_q=weights.w_q,
        w_k=weights.w_k,
        w_v=weights.w_v,
        b_q=weights.b_q,
        b_k=weights.b_k,
        b_v=weights.b_v,
        q=q,
        k=k,
        v=v,
        scores=scores,
        scaled=scaled,
        mask=mask,
        weights=attention_weights,
        head_outputs=head_outputs,
        concat=concat,
        w_o=weights.w_o,
        b_o=weights.b_o,
        output=output_projection(concat, weights.w_o, weights.b_o),
        source=source,
        divisor=divisor,
        q_before_rotation=q_before,
        k_before_rotation=k_before,
        rope_theta=rope_theta,
        kv_heads=kv_heads,
    )


def check_length(n, config):
    """Refuse a token count the settings cannot take, with a message a student can act on."""
    if n == 0:
        raise AttentionInputError("Type at least one word.")
    if n > config.max_tokens:
        raise AttentionInputError(
            f"That is {n} tokens; the limit is {config.max_tokens}. Shorten the sentence."
        )
    if config.n_heads * n * max(n, config.d_k, config.d_v) > MAX_CELLS:  # scores [h, n, n], Q/K/V [h, n, d]
        raise AttentionInputError(
            f"{n} tokens with {config.n_heads} heads is too large to compute here: "
            "shorten the sentence or lower heads, d_k or d_v."
        )


def run_attention(sentence, config=AttentionConfig(), source=Source()):  # str -> AttentionTrace
    """Run all seven stages of self-attention on ``sentence`` and return every intermediate.

    Parameters
    ----------
    sentence : str
        The text to attend over; split by ``tokenize``.
    config : AttentionConfig
        Sizes, seed and switches (scaling, causal mask, temperature, positions).
    source : Source
        Where the trace says it came from (``attention_core.families.random_weights`` names its options).

    Returns
    -------
    AttentionTrace
        Frozen; arrays are float64 with the shapes listed on the class.

    Raises
    ------
    AttentionInputError
        For an empty sentence or one longer than ``config.max_tokens``.
    """
    if not isinstance(sentence, str):
        raise AttentionInputError(f"The sentence must be text, not {type(sentence).__name__}.")
    if len(sentence) > 64 * config.max_tokens + 1000:  # cheap guard before tokenizing a huge paste
        raise AttentionInputError(
            f"That text is {len(sentence):,} characters long; the limit is {config.max_tokens} tokens."
        )
    tokens = tokenize(sentence)
    check_length(len(tokens), config)
    positional = (
        positional_encoding(len(tokens), config.d_model)
        if config.positional == "sinusoidal"
        else np.zeros((len(tokens), config.d_model))
    )
    x = embed(tokens, config.d_model, config.seed) + positional
    return attend(config, tokens, x, positional, init_weights(config), source=source)
