"""The arithmetic behind single cells, as plain data for the "show me the numbers" panel."""

from dataclasses import dataclass

import numpy as np

from attention_core.attention import rotate


@dataclass(frozen=True)
class ScoreTerms:
    """scores[head, i, j] = sum_m q_i[m] * k_j[m], then divided by ``divisor``."""

    q_row: np.ndarray  # [d_k]
    k_row: np.ndarray  # [d_k]
    products: np.ndarray  # [d_k] q_row * k_row, term by term
    score: float  # products.sum()
    divisor: float  # sqrt(d_k) * temperature (or just temperature without scaling)
    scaled: float  # score / divisor


@dataclass(frozen=True)
class SoftmaxTerms:
    """Row i of the softmax, step by step; masked keys are left out of every sum."""

    logits: np.ndarray  # [n] the scaled scores of row i
    allowed: np.ndarray  # [n] bool, False where the causal mask hides the key
    row_max: float  # the largest allowed logit
    shifted: np.ndarray  # [n] logits - row_max (masked: -inf)
    exps: np.ndarray  # [n] exp(shifted) (masked: 0)
    total: float  # exps.sum()
    weights: np.ndarray  # [n] exps / total


@dataclass(frozen=True)
class OutputTerms:
    """Head output row i = sum_j weights[i, j] * v_j."""

    weights: np.ndarray  # [n] row i of the attention weights
    values: np.ndarray  # [n, d_v] the value vectors
    contributions: np.ndarray  # [n, d_v] weights[j] * values[j]
    total: np.ndarray  # [d_v] contributions summed over j


@dataclass(frozen=True)
class RotationTerms:
    """Rotation by position for query i and key j of one head, as the rotate stage shows it."""

    pair: int  # which pair of coordinates, (2·pair, 2·pair + 1): pair 0 turns fastest
    speed: float  # its angle per position, radians: theta^(-2·pair/d_k)
    positions: np.ndarray  # [p] 0, 1, …: where the same query could stand
    turned: np.ndarray  # [p, 2] query i's pair (before rotation) turned to each of those positions
    scores: np.ndarray  # [p, p] the same query and key placed at positions a (rows) and b: q(a)·k(b)


def rotation_terms(trace, head, i, j, pair=0, places=16):  # -> RotationTerms: query i, key j, first places
    q, k = trace.q_before_rotation[head, i], trace.k_before_rotation[head, j]
    d_k = q.shape[-1]
    positions = np.arange(places)
    speed = float(trace.rope_theta ** (-2 * pair / d_k))
    angles = positions * speed
    x, y = q[2 * pair], q[2 * pair + 1]
    turned = np.stack(
        [x * np.cos(angles) - y * np.sin(angles), x * np.sin(angles) + y * np.cos(angles)], axis=-1
    )
    rotated_q = rotate(np.broadcast_to(q, (places, d_k))[None], positions, trace.rope_theta)[
        0
    ]  # q at each place
    rotated_k = rotate(np.broadcast_to(k, (places, d_k))[None], positions, trace.rope_theta)[0]
    return RotationTerms(pair, speed, positions, turned, rotated_q @ rotated_k.T)


def score_terms(trace, head, i, j):  # -> ScoreTerms for query i, key j
    q_row, k_row = trace.q[head, i], trace.k[head, j]
    products = q_row * k_row
    score = float(products.sum())
    return ScoreTerms(q_row, k_row, products, score, trace.divisor, score / trace.divisor)


def softmax_terms(trace, head, i):  # -> SoftmaxTerms for query i
    logits, allowed = trace.scaled[head, i], trace.mask[i]
    row_max = float(logits[allowed].max())
    shifted = np.where(allowed, logits - row_max, -np.inf)
    exps = np.exp(shifted)
    total = float(exps.sum())
    return SoftmaxTerms(logits, allowed, row_max, shifted, exps, total, exps / total)


def output_terms(trace, head, i):  # -> OutputTerms for query i
    weights, values = trace.weights[head, i], trace.v[head]
    contributions = weights[:, None] * values  # [n, d_v]
    return OutputTerms(weights, values, contributions, contributions.sum(axis=0))
