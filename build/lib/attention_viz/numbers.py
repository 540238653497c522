"""The "show me the numbers" panel as data: the core's per-cell terms laid out as tables and formulas.

User text never goes into a formula (KaTeX would interpret it); tokens appear only in the tables.
"""

import numpy as np
import pandas as pd

SHOWN_TERMS = 8  # write a dot product out in full up to this many terms


def _num(value):  # a number as KaTeX text, parenthesised when negative
    text = f"{value:.3f}"
    return f"({text})" if value < 0 else text


def score_table(terms):  # ScoreTerms -> DataFrame of q_i[m], k_j[m] and their product
    return pd.DataFrame(
        {"q_i[m]": terms.q_row, "k_j[m]": terms.k_row, "q_i[m] × k_j[m]": terms.products},
        index=pd.Index(np.arange(1, len(terms.products) + 1), name="m"),
    )


def score_formula(terms, i, j):  # -> LaTeX: the dot product written out, its sum and the division
    if len(terms.products) <= SHOWN_TERMS:
        expansion = " + ".join(
            f"{_num(q)}\\cdot{_num(k)}" for q, k in zip(terms.q_row, terms.k_row, strict=True)
        )
    else:
        expansion = f"\\sum_{{m=1}}^{{{len(terms.products)}}} q_{{{i + 1},m}}\\, k_{{{j + 1},m}}"
    return (
        f"q_{{{i + 1}}} \\cdot k_{{{j + 1}}} = {expansion} = {terms.score:.4f}"
        f"\\qquad \\frac{{{terms.score:.4f}}}{{{terms.divisor:.4g}}} = {terms.scaled:.4f}"
    )


def softmax_table(terms, labels):  # SoftmaxTerms, key labels -> DataFrame, one row per key
    return pd.DataFrame(
        {
            "scaled score": terms.logits,
            "minus row max": terms.shifted,  # -inf where masked, so exp gives exactly 0
            "exp": terms.exps,
            "weight = exp / sum": terms.weights,
        },
        index=pd.Index(labels, name="key"),
    )


def output_table(terms, labels, value_dims):  # OutputTerms -> DataFrame: weight, then weight × V columns
    frame = pd.DataFrame(terms.contributions, index=pd.Index(labels, name="key"), columns=value_dims)
    frame.insert(0, "weight", terms.weights)
    total = pd.DataFrame([[terms.weights.sum(), *terms.total]], index=["= sum"], columns=frame.columns)
    return pd.concat([frame, total])


def output_formula(terms, i, shown=4):  # -> LaTeX: o_i = a_1 v_1 + ...; the largest weights first
    order = np.argsort(-terms.weights, kind="stable")
    parts = [f"{terms.weights[j]:.2f}\\, v_{{{j + 1}}}" for j in order[:shown] if terms.weights[j] > 0]
    rest = " + \\dots" if np.count_nonzero(terms.weights) > shown else ""
    return f"o_{{{i + 1}}} = " + " + ".join(parts) + rest
