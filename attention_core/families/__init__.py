"""The model families the app can walk through, one module each; adding one is a module and a line here.

    from attention_core.families import FAMILIES
    family = FAMILIES["random"]
    trace = family.trace("the cat sat", family.defaults())

``register`` adds a family at run time (the tests add one of their own this way).
"""

from attention_core.families import decoder, encoder, random_weights, trained
from attention_core.families.base import Busy, Family, Option, Sizes, Status

FAMILIES = {
    family.key: family for family in (random_weights.FAMILY, encoder.FAMILY, decoder.FAMILY, trained.FAMILY)
}
DEFAULT = "random"


def register(family):  # -> family, listed after the others (a key already taken is replaced)
    FAMILIES[family.key] = family
    return family


def family_of(trace):  # AttentionTrace -> the Family that made it
    return FAMILIES[trace.source.family]


__all__ = ["DEFAULT", "FAMILIES", "Busy", "Family", "Option", "Sizes", "Status", "family_of", "register"]
