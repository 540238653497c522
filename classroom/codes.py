"""Join codes, teacher keys and nicknames: made with ``secrets``, read strictly."""

import hashlib
import secrets
import unicodedata

# Six characters a room can read off a projector and type without asking: none of the look-alikes
# 0/O/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B. 22^6 = 113 million codes.
ALPHABET = "ACDEFHJKMNPRTUVWXY3479"
CODE_LENGTH = 6
KEY_BYTES = 16  # the teacher's key: 128 bits
MAX_NICKNAME = 24


def new_code():  # -> "K7MRTX"
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def new_key():  # -> 22 URL-safe characters, 128 random bits
    return secrets.token_urlsafe(KEY_BYTES)


def key_digest(key):  # the teacher key as the store keeps it: whoever reads the store cannot act as teacher
    return hashlib.sha256(str(key).encode()).hexdigest()


def clean_code(text):  # what a student typed -> a code of the alphabet, or None
    """Upper case, spaces and dashes dropped; anything else outside the alphabet is not a code."""
    code = "".join(str(text or "").split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(character not in ALPHABET for character in code):
        return None
    return code


def clean_nickname(text):  # -> plain text of at most 24 characters, one line, no control characters
    """A nickname is data: shown as plain text only. Control and format characters (bidi overrides,
    zero-width joiners) and line breaks go; runs of spaces become one."""
    kept = "".join(c for c in str(text or "") if not unicodedata.category(c).startswith("C"))
    return " ".join(kept.split())[:MAX_NICKNAME]
