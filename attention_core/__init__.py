"""Scaled dot-product self-attention, one small NumPy function per stage.

Convention: vectors are rows. A sentence of ``n`` tokens is a matrix ``x`` of
shape ``[n, d_model]``, and a learned projection is ``q = x @ w_q + b_q`` with
``w_q`` of shape ``[d_model, d_k]``. Every per-head array carries a leading head
axis ``h``. Weights stored the PyTorch way (``[out, in]``) are transposed where
they are loaded (see ``pretrained.py``), never in the math.

    from attention_core import AttentionConfig, run_attention
    trace = run_attention("the cat sat", AttentionConfig(d_model=8, d_k=4, d_v=4))
    trace.weights[0]  # [n, n] softmax weights of head 0

This package imports only NumPy and the standard library.
"""

from attention_core.attention import (
    AttentionConfig,
    AttentionInputError,
    AttentionTrace,
    Weights,
    attend,
    attention_scores,
    causal_mask,
    concat_heads,
    init_weights,
    output_projection,
    project,
    rotate,
    run_attention,
    scale_scores,
    softmax,
    weighted_sum,
)
from attention_core.explain import (
    OutputTerms,
    RotationTerms,
    ScoreTerms,
    SoftmaxTerms,
    output_terms,
    rotation_terms,
    score_terms,
    softmax_terms,
)
from attention_core.scaling import ScalingExperiment, scaling_experiment
from attention_core.stages import STAGES, Stage
from attention_core.tokens import embed, positional_encoding, tokenize

__all__ = [
    "STAGES",
    "AttentionConfig",
    "AttentionInputError",
    "AttentionTrace",
    "OutputTerms",
    "RotationTerms",
    "ScalingExperiment",
    "ScoreTerms",
    "SoftmaxTerms",
    "Stage",
    "Weights",
    "attend",
    "attention_scores",
    "causal_mask",
    "concat_heads",
    "embed",
    "init_weights",
    "output_projection",
    "output_terms",
    "positional_encoding",
    "project",
    "rotate",
    "rotation_terms",
    "run_attention",
    "scale_scores",
    "scaling_experiment",
    "score_terms",
    "softmax",
    "softmax_terms",
    "tokenize",
    "weighted_sum",
]
