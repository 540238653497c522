"""The small model with random weights (fixed by a seed): numbers small enough to read, every setting free."""

from attention_core.attention import POSITIONAL_KINDS, AttentionConfig, Source, run_attention
from attention_core.families.base import Family, Option, Sizes
from attention_core.stages import SEVEN

DEFAULTS = AttentionConfig()
OPTIONS = (  # two numbers to a row under Model settings, then the choice, then the switches
    Option("d_model", "d_model", DEFAULTS.d_model, "Width of each token's embedding (a row of X).", 2, 64),
    Option("seed", "Seed", DEFAULTS.seed, "Fixes the random embeddings and weights.", 0, 2**32 - 1),
    Option("d_k", "d_k", DEFAULTS.d_k, "Width of each query and key vector.", 1, 64),
    Option("d_v", "d_v", DEFAULTS.d_v, "Width of each value vector.", 1, 64),
    Option("heads", "Heads", DEFAULTS.n_heads, "Independent attention heads, each with its own W_q, W_k, W_v.", 1, 8),
    Option(
        "temperature", "Temperature", DEFAULTS.temperature,
        "Scores are divided by this before softmax: below 1 sharpens, above 1 flattens.",
        0.01, 100.0, step=0.25, format="%.2f",
    ),
    Option(
        "positional", "Positional encoding", DEFAULTS.positional,
        "Sinusoidal adds a different pattern to each position, so word order matters.",
        choices=POSITIONAL_KINDS,
    ),
    Option("scale", "Scale by √d_k", DEFAULTS.scale, "Switch off to see the softmax saturate.", place="switch"),
    Option(
        "causal", "Causal mask", DEFAULTS.causal,
        "Each token may only attend to itself and the tokens before it.", place="switch",
    ),
)  # fmt: skip


def config(options):  # the family's options -> AttentionConfig
    fields = {"heads": "n_heads"}
    return AttentionConfig(**{fields.get(o.name, o.name): options[o.name] for o in OPTIONS})


def run(sentence, options):  # -> AttentionTrace
    chosen = tuple((o.name, options[o.name]) for o in OPTIONS)
    return run_attention(
        sentence, config(options), Source("random", 0, chosen, f"random weights (seed {options['seed']})")
    )


FAMILY = Family(
    key="random",
    title="the random-weights model",
    summary="small random weights, numbers you can read; every size and switch is yours to set.",
    options=OPTIONS,
    stages=SEVEN,
    sizes=lambda options: Sizes(layers=1, heads=options["heads"]),
    run=run,
)
