"""Checks a student can see: the shapes and invariants of each stage, computed from the trace."""

from dataclasses import dataclass

import numpy as np

from attention_viz import panels

ATOL = 1e-9  # far above float64 rounding for these sizes, far below any visible number


@dataclass(frozen=True)
class Check:
    label: str
    passed: bool
    detail: str  # the measured number behind the verdict


def _close(label, got, want):
    error = float(np.abs(got - want).max()) if got.size else 0.0
    return Check(
        label,
        error <= ATOL * max(1.0, float(np.abs(want).max(initial=0.0))),
        f"largest difference {error:.1e}",
    )


def _shape(passed, label):
    return Check(label, bool(passed), "shape")


def embedding(trace, head):
    n, d_model = trace.x.shape
    return [_shape(trace.x.shape == (n, d_model), f"X is [{n} × {d_model}]: one row per token")]


def projection(trace, head):
    d_model, d_k = trace.x.shape[1], trace.q.shape[-1]
    return [_shape(trace.w_q.shape[1:] == (d_model, d_k), f"W_q is [{d_model} × {d_k}]: d_model in, d_k out")]


def qkv(trace, head):
    n, d_k, d_v = len(trace.tokens), trace.q.shape[-1], trace.v.shape[-1]
    return [
        _shape(trace.q.shape[1:] == (n, d_k) and trace.v.shape[1:] == (n, d_v), f"Q is [{n} × {d_k}], V [{n} × {d_v}]"),
        _close("Q = X·W_q (+ b_q)", getattr(trace, panels.projected(trace, "q"))[head], trace.x @ trace.w_q[head] + trace.b_q[head]),
    ]  # fmt: skip


def scores(trace, head):
    n = len(trace.tokens)
    return [
        _shape(trace.scores.shape[1:] == (n, n), f"scores are [{n} × {n}]: every query with every key"),
        _close("S = Q·Kᵀ", trace.scores[head], trace.q[head] @ trace.k[head].T),
    ]


def scaling(trace, head):
    return [
        _shape(trace.scaled.shape == trace.scores.shape, "scaling keeps the shape"),
        _close(f"scaled = S / {trace.divisor:.3g}", trace.scaled[head], trace.scores[head] / trace.divisor),
    ]


def softmax(trace, head):
    n = len(trace.tokens)
    weights = trace.weights[head]
    sums = weights.sum(axis=1)
    masked = weights[~trace.mask]
    return [
        _shape(trace.weights.shape[1:] == (n, n), f"weights are [{n} × {n}]"),
        Check(
            "each row sums to 1",
            bool(np.allclose(sums, 1.0, rtol=0, atol=ATOL)),
            f"largest difference {float(np.abs(sums - 1).max()):.1e}",
        ),
        Check(
            "masked entries are exactly 0",
            bool((masked == 0).all()),
            f"{masked.size} masked entries" if masked.size else "nothing is masked",
        ),
        Check(
            "all weights between 0 and 1",
            bool(((weights >= 0) & (weights <= 1)).all()),
            f"from {weights.min():.3f} to {weights.max():.3f}",
        ),
    ]


def output(trace, head):
    n, d_v = len(trace.tokens), trace.v.shape[-1]
    values, outputs = trace.v[head], trace.head_outputs[head]
    low, high = values.min(axis=0), values.max(axis=0)  # [d_v] the range the value rows span
    inside = (outputs >= low - ATOL) & (outputs <= high + ATOL)
    return [
        _shape(trace.head_outputs.shape[1:] == (n, d_v), f"output is [{n} × {d_v}]: one row per token"),
        Check(
            "each output row lies within the range of the value rows",
            bool(inside.all()),
            f"{int(inside.all(axis=1).sum())} of {n} rows inside",
        ),
        _close("output = A·V", outputs, trace.weights[head] @ values),
    ]


def rotate(trace, head):  # a rotation turns each pair of numbers and keeps its length; position 0 stays
    n, d_k = len(trace.tokens), trace.q.shape[-1]
    q, turned = trace.q_before_rotation[head], trace.q[head]
    pairs = q.reshape(n, d_k // 2, 2), turned.reshape(n, d_k // 2, 2)
    return [
        _shape(turned.shape == (n, d_k), f"Q and K stay [{n} × {d_k}]"),
        _close(
            "each pair keeps its length", np.linalg.norm(pairs[1], axis=-1), np.linalg.norm(pairs[0], axis=-1)
        ),
        _close("position 0 is not turned", turned[0], q[0]),
        _close("S = (rotated Q)·(rotated K)ᵀ", trace.scores[head], turned @ trace.k[head].T),
    ]
