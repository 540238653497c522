"""The "show me the numbers" panel as data: the core's per-cell terms laid out as tables and formulas.

User text never goes into a formula (KaTeX would interpret it); tokens appear in the tables, and in the
sentences through the caller's `strong`, which escapes them for its markup.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attention_core import output_terms, score_terms, softmax_terms
from attention_viz.frames import dim_labels, token_labels

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


@dataclass(frozen=True)
class Worked:
    """One cell worked through: what the app's panel and the lesson file both show, each in its markup."""

    intro: str  # the sentence above the table, its tokens emphasised by the caller's `strong`
    table: pd.DataFrame
    description: str  # the table's accessible name (plain text)
    formula: str | None  # LaTeX, for stages that have one
    terms: object  # ScoreTerms, SoftmaxTerms or OutputTerms


CELLS = ("pair", "row", "output")  # what a stage works through: a query and a key, a query's row, an output


def worked(trace, head, cell, i, j, strong):  # cell in CELLS, query i, key j (a "pair") -> Worked
    """``strong(token)`` emphasises a token in the caller's markup and escapes it (markdown or HTML)."""
    tokens = token_labels(trace.tokens)
    if cell == "pair":
        terms = score_terms(trace, head, i, j)
        return Worked(
            f"Query {strong(tokens[i])} against key {strong(tokens[j])}: "
            "multiply the two vectors entry by entry and add up.",
            score_table(terms),
            f"query {tokens[i]} times key {tokens[j]}, term by term",
            score_formula(terms, i, j),
            terms,
        )
    if cell == "row":
        terms = softmax_terms(trace, head, i)
        return Worked(
            f"Row {strong(tokens[i])}: subtract the row's largest score ({terms.row_max:.4f}) so no "
            f"exponential overflows, exponentiate, divide by the sum ({terms.total:.4f}).",
            softmax_table(terms, tokens),
            f"softmax of the row of {tokens[i]}, step by step",
            None,
            terms,
        )
    terms = output_terms(trace, head, i)
    return Worked(
        f"Output for {strong(tokens[i])}: each value vector times its weight, then added up.",
        output_table(terms, tokens, dim_labels("v", trace.v.shape[-1])),
        f"output of {tokens[i]}: each weight times V",
        output_formula(terms, i),
        terms,
    )
