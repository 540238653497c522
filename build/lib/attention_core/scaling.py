"""Why divide by sqrt(d_k): what happens to random scores as d_k grows, with and without it."""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScalingExperiment:
    """One value per entry of ``d_k``; ``*_raw`` without scaling, ``*_scaled`` with it."""

    d_k: np.ndarray  # [m]
    variance_raw: np.ndarray  # [m] variance of q . k
    variance_scaled: np.ndarray  # [m] variance of q . k / sqrt(d_k)
    max_weight_raw: np.ndarray  # [m] mean of each softmax row's largest weight
    max_weight_scaled: np.ndarray
    entropy_raw: np.ndarray  # [m] mean row entropy in nats; log(n) is uniform, 0 is one-hot
    entropy_scaled: np.ndarray
    grad_norm_raw: np.ndarray  # [m] mean Frobenius norm of each row's softmax Jacobian
    grad_norm_scaled: np.ndarray


def _row_stats(logits):  # [..., n] -> (max weight, entropy, Jacobian norm), each [...]
    shifted = logits - logits.max(axis=-1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=-1, keepdims=True)
    entropy = -(p * np.log(np.where(p > 0, p, 1.0))).sum(axis=-1)  # 0 * log 0 counts as 0
    # The softmax Jacobian is diag(p) - p p^T; its squared Frobenius norm expands to
    # sum p^2 - 2 sum p^3 + (sum p^2)^2, which avoids building the n x n matrix.
    sq = (p**2).sum(axis=-1)
    jacobian_norm = np.sqrt(np.maximum(sq - 2 * (p**3).sum(axis=-1) + sq**2, 0.0))
    return p.max(axis=-1), entropy, jacobian_norm


def scaling_experiment(d_ks=(1, 4, 16, 64, 256, 1024), n=16, samples=64, seed=0):
    """Score random unit-variance queries against keys for each d_k and summarise the softmax.

    Without scaling the variance of q . k is d_k, so the largest score runs away
    from the rest, softmax puts nearly all weight on one key, and its gradient
    shrinks towards zero. Dividing by sqrt(d_k) keeps the variance at 1.
    """
    rng = np.random.default_rng(seed)
    d_ks = np.asarray(d_ks, dtype=np.int64)
    columns = {name: [] for name in ScalingExperiment.__dataclass_fields__ if name != "d_k"}
    for d_k in d_ks:
        q = rng.standard_normal((samples, n, d_k))
        k = rng.standard_normal((samples, n, d_k))
        raw = q @ k.swapaxes(-1, -2)  # [samples, n, n]
        for suffix, logits in (("raw", raw), ("scaled", raw / np.sqrt(d_k))):
            max_weight, entropy, grad_norm = _row_stats(logits)
            columns[f"variance_{suffix}"].append(logits.var())
            columns[f"max_weight_{suffix}"].append(max_weight.mean())
            columns[f"entropy_{suffix}"].append(entropy.mean())
            columns[f"grad_norm_{suffix}"].append(grad_norm.mean())
    return ScalingExperiment(d_k=d_ks, **{name: np.array(values) for name, values in columns.items()})
