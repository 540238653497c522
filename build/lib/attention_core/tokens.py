"""Stage 1: text -> tokens -> rows of X."""

import hashlib
import unicodedata

import numpy as np

_APOSTROPHES = "'\u2019"
_ZWJ = "\u200d"


def _is_word_char(ch):  # letters, digits, connector punctuation such as "_"
    return unicodedata.category(ch)[0] in "LN" or unicodedata.category(ch) == "Pc"


def _attaches(ch):  # marks, variation selectors and emoji modifiers belong to the previous character
    return (unicodedata.category(ch) in ("Mn", "Mc", "Me", "Sk") and not ch.isascii()) or ch == _ZWJ


def _is_regional_indicator(ch):  # two of them make one flag
    return "\U0001f1e6" <= ch <= "\U0001f1ff"


def _completes_flag(current, ch):
    return len(current) == 1 and _is_regional_indicator(current) and _is_regional_indicator(ch)


def _is_inner_apostrophe(text, index):  # the apostrophe in "don't": a word character follows
    return text[index] in _APOSTROPHES and index + 1 < len(text) and _is_word_char(text[index + 1])


def tokenize(sentence):  # str -> tuple[str, ...]
    """Split into words and single punctuation marks or symbols.

    Words are runs of letters, digits and their combining marks, with inner
    apostrophes kept ("don't"). Each other visible character is a token of its
    own, with emoji modifiers, zero-width joiners and flag pairs kept together so
    that one emoji stays one token. Invisible format characters (such as
    right-to-left overrides) are dropped: they would only make labels misleading.
    """
    text = unicodedata.normalize("NFC", sentence)
    tokens = []
    current = ""  # the token being built
    in_word = False
    glue_next = False  # the previous character was a zero-width joiner
    for index, ch in enumerate(text):
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zs", "Zl", "Zp", "Cc"):
            if current:
                tokens.append(current)
            current, in_word, glue_next = "", False, False
        elif current and (_attaches(ch) or glue_next):
            current += ch
            glue_next = ch == _ZWJ
        elif category == "Cf":
            continue
        elif _is_word_char(ch):
            if not in_word and current:
                tokens.append(current)
                current = ""
            current += ch
            in_word = True
        elif (in_word and _is_inner_apostrophe(text, index)) or _completes_flag(current, ch):
            current += ch
        else:
            if current:
                tokens.append(current)
            current, in_word = ch, False
    if current:
        tokens.append(current)
    # Again per token: a dropped invisible character can leave "e" and U+0301 apart in the NFC text.
    return tuple(unicodedata.normalize("NFC", token) for token in tokens)


def embed(tokens, d_model, seed):  # n tokens -> [n, d_model]
    """One fixed random vector per token, the same in every process and sentence.

    The vector is drawn from a generator seeded by a SHA-256 of the seed and the
    case-folded token, so "The" and "the" share it and Python's per-process
    string hashing plays no part.
    """
    rows = []
    for token in tokens:
        key = f"{seed}\x00{token.casefold()}".encode("utf-8", "surrogatepass")
        token_seed = int.from_bytes(hashlib.sha256(key).digest()[:8], "little")
        rows.append(np.random.default_rng(token_seed).standard_normal(d_model))
    return np.array(rows, dtype=np.float64).reshape(len(tokens), d_model)


def positional_encoding(n, d_model):  # -> [n, d_model]
    """The sinusoidal encoding of "Attention Is All You Need".

    Column 2i holds sin(pos / 10000^(2i/d_model)) and column 2i+1 the cosine, so
    every position gets its own pattern and nearby positions look alike.
    """
    positions = np.arange(n, dtype=np.float64)[:, None]  # [n, 1]
    pair = np.arange(d_model) // 2  # column c belongs to frequency pair c // 2
    angles = positions / 10000.0 ** (2 * pair / d_model)  # [n, d_model]
    return np.where(np.arange(d_model) % 2 == 0, np.sin(angles), np.cos(angles))
