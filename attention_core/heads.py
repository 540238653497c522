"""Heads with names, and attention across layers: what each head does, measured, and attention rollout.

``head_roles(model)`` names every head of a loaded model (``pretrained.load_pretrained()``, any BERT
folder, or ``llm.load_llm()``) by the pattern it follows on probes that ship here: ordinary sentences
(``PROBE_TEXTS``) and, for induction, sequences of random tokens repeated twice. A pattern's score is a
mean attention weight, so it lies in [0, 1]:

    previous token  the weight on position i − 1        next token   on i + 1 (an encoder's)
    self            on i itself                         induction    from each token of the repeat on the
    [CLS] / first   on position 0 (the sink)                         token after its earlier copy
    [SEP]           on the last position (an encoder's)              (TransformerLens's induction score)

averaged over the query rows that have a choice (every row but the first, which in a decoder sees only
itself). A head takes the specific pattern (induction, previous, next, self) it follows most if that
score reaches ``SPECIFIC_THRESHOLD``, even when it also leans on the sink, as induction heads do in
ordinary text; else the sink it follows most if that reaches ``SINK_THRESHOLD`` (half its
weight); else it is "broad", and its score is how evenly it spreads (the rows' entropy over its maximum).

``rollout(attentions)`` is Abnar & Zuidema's (2020) attention rollout: each layer's heads averaged, the
residual connection added as 0.5·A + 0.5·I, rows renormalised, and the layers multiplied from the first
up; ``rollout_by_layer`` gives the result after every layer.
"""

import itertools
import re
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from attention_core.attention import AttentionInputError

PREVIOUS, NEXT, SELF, INDUCTION = "previous token", "next token", "self", "induction"
CLS, FIRST, SEP, BROAD = "[CLS]", "first token", "[SEP]", "broad"
SPECIFIC = (INDUCTION, PREVIOUS, NEXT, SELF)  # named before a sink once they reach SPECIFIC_THRESHOLD
SINKS = (CLS, FIRST, SEP)
ROLES = (*SPECIFIC, CLS, FIRST, SEP, BROAD)  # every role, in the order a legend lists them
SPECIFIC_THRESHOLD = 0.4  # 10× what an even spread gives a position in a 25-token row
SINK_THRESHOLD = 0.5  # half of the head's weight or more on one position

PROBE_TEXTS = (  # ordinary prose, no word repeated within a sentence: patterns by position, not by word
    "The quick brown fox jumps over a lazy dog while children watch from their kitchen window.",
    "When the teacher asked her question, every student in that room raised a hand and waited.",
    "Rivers carry water from mountains to the sea, shaping valleys, towns and farms along their way.",
)
COPYING_TEXT = "The winner was Dr Quenby Harwick. The prize went to Dr Quenby"  # SmolLM2: next " Har", 0.74
INDUCTION_TOKENS = 25  # random tokens, then the same 25 again
INDUCTION_SEQUENCES = 3  # averaged; the first is the one a page shows
INDUCTION_SEED = 0  # np.random.default_rng(seed): the same tokens in every process
_BRACKETED = re.compile(r"\[[^\]]*\]")  # BERT's [unused17] and the like: never-trained word pieces


@dataclass(frozen=True)
class HeadRole:
    """What one head does: its role, its score for that role, and its score for every pattern measured."""

    layer: int  # from 0
    head: int  # from 0
    role: str  # one of ROLES
    score: float  # in [0, 1]
    scores: tuple  # ((pattern, score), ...) of every role measured on this model, "broad": the spread


@dataclass(frozen=True, eq=False)
class Probe:
    """A sequence the model read for the atlas, and every head's attention on it."""

    title: str  # what it is, for a page: "the first probe sentence", "25 random tokens, repeated"
    tokens: tuple  # one label per position, as the model reads it
    weights: np.ndarray  # [layers, h, n, n]


@dataclass(frozen=True)
class _Reader:
    """What the probes need of a loaded model; the two kinds differ only here."""

    causal: bool  # a decoder: each token sees only itself and the tokens before it
    roles: tuple  # the roles that exist for this kind of model, in ROLES order
    before: int  # tokens attentions_of_ids puts before the ids ([CLS], or a beginning-of-text token)
    labels: object  # text -> the tokens' labels
    id_labels: object  # ids -> the labels of attentions_of_ids(ids)'s positions
    ordinary_ids: object  # () -> token ids that are neither special nor never trained


def _reader(model):  # a loaded model (attention_core.pretrained or attention_core.llm) -> _Reader
    tokenizer = model.tokenizer
    special = set(tokenizer.get_added_tokens_decoder())

    def ordinary_ids():
        vocab = tokenizer.get_vocab()
        return np.array(
            sorted(i for t, i in vocab.items() if i not in special and not _BRACKETED.fullmatch(t))
        )

    if hasattr(model, "encode"):  # a BERT encoder: [CLS] first, [SEP] last, every token sees every token
        frame = tokenizer.encode("").tokens
        return _Reader(
            causal=False,
            roles=(INDUCTION, PREVIOUS, NEXT, SELF, CLS, SEP, BROAD),
            before=1,
            labels=lambda text: list(model.encode(text)[0]),
            id_labels=lambda ids: [frame[0], *(tokenizer.id_to_token(int(i)) for i in ids), frame[1]],
            ordinary_ids=ordinary_ids,
        )
    bos = () if model.bos_id is None else (model.bos_id,)
    return _Reader(
        causal=True,
        roles=(INDUCTION, PREVIOUS, SELF, FIRST, BROAD),  # a decoder never sees the next token
        before=len(bos),
        labels=lambda text: model.token_texts(model.tokenize(text)),
        id_labels=lambda ids: model.token_texts([*bos, *(int(i) for i in ids)]),
        ordinary_ids=ordinary_ids,
    )


# --- rollout ---


def with_residual(weights):  # [n, n] -> [n, n]
    mixed = 0.5 * weights + 0.5 * np.eye(len(weights))  # the residual stream carries each token on as it is
    return mixed / mixed.sum(axis=-1, keepdims=True)  # rows renormalised, as Abnar & Zuidema do


def rollout_by_layer(attentions):  # [layers, h, n, n] -> [layers, n, n]
    """Row i after layer l: how much token i's representation there draws from each input token."""
    attentions = np.asarray(attentions, dtype=np.float64)
    if attentions.ndim != 4 or attentions.shape[-1] != attentions.shape[-2] or not attentions.size:
        raise AttentionInputError(f"Rollout needs attentions [layers, heads, n, n]; got {attentions.shape}.")
    layers = [with_residual(layer.mean(axis=0)) for layer in attentions]  # heads averaged
    return np.stack(list(itertools.accumulate(layers, lambda below, layer: layer @ below)))  # first layer up


def rollout(attentions):  # [layers, h, n, n] -> [n, n]
    return rollout_by_layer(attentions)[-1]


# --- patterns: each a mean weight over the query rows that have a choice ---


def weight_at(weights, offset, rows):  # [..., n, n], int, row indices -> [...]
    rows = np.asarray(rows)
    return weights[..., rows, rows + offset].mean(axis=-1)  # row i's weight on key i + offset


def previous_token_score(weights):  # [..., n, n] -> [...]
    return weight_at(weights, -1, range(1, weights.shape[-1]))


def next_token_score(weights):  # [..., n, n] -> [...]
    return weight_at(weights, 1, range(1, weights.shape[-1] - 1))  # the last row has no next token


def self_score(weights):  # [..., n, n] -> [...]
    return weight_at(weights, 0, range(1, weights.shape[-1]))


def first_token_score(weights):  # [..., n, n] -> [...]
    return weights[..., 1:, 0].mean(axis=-1)


def last_token_score(weights):  # [..., n, n] -> [...]
    return weights[..., 1:, -1].mean(axis=-1)


def induction_score(weights, start, length):  # [..., m, m], first position of the sequence, its length
    """A sequence of ``length`` tokens at ``start``, then the same again: the mean weight from each token of
    the repeat on the token after its earlier copy."""
    k = np.arange(length)
    return weights[..., start + length + k, start + k + 1].mean(axis=-1)


def spread(weights, causal):  # [..., n, n] -> [...]: 1 when every row is even over what it sees
    n = weights.shape[-1]
    rows = weights[..., 1:, :]
    entropy = -np.sum(rows * np.log(np.where(rows > 0, rows, 1.0)), axis=-1)  # 0 log 0 = 0
    seen = np.arange(2, n + 1) if causal else np.full(n - 1, n)  # the keys each row may look at
    return (entropy / np.log(seen)).mean(axis=-1)


def text_scores(weights, causal):  # [layers, h, n, n] -> {pattern: [layers, h]} on one text
    scores = {PREVIOUS: previous_token_score(weights), SELF: self_score(weights)}
    if causal:
        return scores | {FIRST: first_token_score(weights), BROAD: spread(weights, causal)}
    return scores | {
        NEXT: next_token_score(weights),
        CLS: first_token_score(weights),
        SEP: last_token_score(weights),
        BROAD: spread(weights, causal),
    }


# --- naming ---


def name_head(scores):  # {pattern: score} -> (role, score)
    """The specific pattern it follows most, if it reaches SPECIFIC_THRESHOLD; else the sink it follows most,
    if it reaches SINK_THRESHOLD; else "broad", with its spread."""
    for kinds, threshold in ((SPECIFIC, SPECIFIC_THRESHOLD), (SINKS, SINK_THRESHOLD)):
        found = [(scores[kind], kind) for kind in kinds if kind in scores]
        if found and max(found)[0] >= threshold:
            score, kind = max(found)
            return kind, score
    return BROAD, scores[BROAD]


def name_heads(scores, roles):  # {pattern: [layers, h]}, the roles measured -> tuple of HeadRole
    layers, heads = next(iter(scores.values())).shape
    named = []
    for layer, head in itertools.product(range(layers), range(heads)):
        mine = {role: float(np.clip(scores[role][layer, head], 0.0, 1.0)) for role in roles}
        role, score = name_head(mine)
        named.append(HeadRole(layer, head, role, score, tuple(mine.items())))
    return tuple(named)


# --- probes ---


def induction_ids(model):  # -> [INDUCTION_SEQUENCES, INDUCTION_TOKENS] token ids, the same in every process
    def draw():
        rng = np.random.default_rng(INDUCTION_SEED)
        ordinary = _reader(model).ordinary_ids()  # reading the vocabulary takes a tenth of a second: once
        return _frozen(
            np.stack(
                [rng.choice(ordinary, INDUCTION_TOKENS, replace=False) for _ in range(INDUCTION_SEQUENCES)]
            )
        )

    return _once(model, "induction ids", draw)


def measured_scores(model):  # -> {pattern: [layers, h]}: every pattern averaged over its probes; uncached
    """The scores ``head_roles`` names heads by: the text patterns averaged over PROBE_TEXTS, induction over
    the random sequences."""
    reader = _reader(model)
    per_text = [text_scores(model.attentions(text), reader.causal) for text in PROBE_TEXTS]
    scores = {pattern: np.mean([s[pattern] for s in per_text], axis=0) for pattern in per_text[0]}
    repeats = [model.attentions_of_ids(np.concatenate([ids, ids])) for ids in induction_ids(model)]
    scores[INDUCTION] = np.mean(
        [induction_score(w, reader.before, INDUCTION_TOKENS) for w in repeats], axis=0
    )
    return scores


_kept = weakref.WeakKeyDictionary()  # model -> {what: value}, computed once, kept as long as the model is
_keeping = threading.RLock()  # sessions asking at the same moment wait for one computation (a second or two)


def _once(model, what, compute):  # -> compute(), once per model and process, shared by every session
    mine = _kept.get(model)
    if mine is not None and what in mine:
        return mine[what]
    with _keeping:
        mine = _kept.setdefault(model, {})
        if what not in mine:
            mine[what] = compute()
        return mine[what]


def _frozen(array):  # shared by every session: nobody may write into it
    array.flags.writeable = False
    return array


def head_roles(model):  # a loaded model -> tuple of HeadRole, layer by layer, head by head
    """Every head of ``model`` named by the pattern it follows on the probes; measured once per model and
    process, and shared.

    Parameters
    ----------
    model : PretrainedModel or LanguageModel
        What ``pretrained.load_pretrained()`` or ``llm.load_llm()`` returns (or a family's ``model()``).
        A model loaded from another folder or file is another object, measured on its own.

    Returns
    -------
    tuple of HeadRole
        ``layers × heads`` of them, layer 0's heads first; the roles are those of ROLES that exist for
        the model's kind (a decoder has no next token and no [SEP]; an encoder's sink is [CLS]).
    """
    return _once(model, "roles", lambda: name_heads(measured_scores(model), _reader(model).roles))


def measured_roles(model):  # -> head_roles(model) if measured already in this process, else None; never waits
    return _kept.get(model, {}).get("roles")


def possible_roles(roles):  # tuple of HeadRole -> the roles that exist for that model, in ROLES order
    return tuple(role for role, _ in roles[0].scores)


def text_probe(model, text, title):  # -> Probe of any text (uncached: the model caches what it can)
    return Probe(title, tuple(_reader(model).labels(text)), _frozen(np.asarray(model.attentions(text))))


def role_probe(model, role):  # -> the Probe a role is measured on (for induction: the first repeat), kept
    if role != INDUCTION:
        return _once(
            model, "text probe", lambda: text_probe(model, PROBE_TEXTS[0], "the first probe sentence")
        )

    def repeat():
        ids = np.concatenate([induction_ids(model)[0]] * 2)
        title = f"{INDUCTION_TOKENS} random tokens, then the same again"
        return Probe(title, tuple(_reader(model).id_labels(ids)), _frozen(model.attentions_of_ids(ids)))

    return _once(model, "induction probe", repeat)


def copying_probe(model):  # -> Probe of COPYING_TEXT, where an induction head predicts the next word; kept
    return _once(
        model, "copying probe", lambda: text_probe(model, COPYING_TEXT, "a text where copying helps")
    )


__all__ = [
    "BROAD",
    "CLS",
    "COPYING_TEXT",
    "FIRST",
    "INDUCTION",
    "NEXT",
    "PREVIOUS",
    "PROBE_TEXTS",
    "ROLES",
    "SELF",
    "SEP",
    "SINKS",
    "SINK_THRESHOLD",
    "SPECIFIC",
    "SPECIFIC_THRESHOLD",
    "HeadRole",
    "Probe",
    "copying_probe",
    "first_token_score",
    "head_roles",
    "induction_ids",
    "induction_score",
    "last_token_score",
    "measured_roles",
    "measured_scores",
    "name_head",
    "name_heads",
    "next_token_score",
    "possible_roles",
    "previous_token_score",
    "role_probe",
    "rollout",
    "rollout_by_layer",
    "self_score",
    "spread",
    "text_probe",
    "text_scores",
    "weight_at",
    "with_residual",
]
