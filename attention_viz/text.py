"""What each stage says: its explanation (markdown), its formula (LaTeX) and the shapes it names.

Written once, read by the app's pages and by the lesson file, so both teach the same words. These are the
textbook's words; a family whose model differs says so in its own ``texts`` (attention_core.families).
"""

from attention_core.families import family_of
from attention_core.stages import STAGES, stage_number

# Stage -> (explanation, formula), as the random-weights model computes it.
INTRO = {
    "embedding": (
        "The sentence is split into tokens, and each token is looked up in a table of vectors: its "
        "**embedding**. Stacked as rows, they form the matrix **X**, one row per token. In a trained model "
        "these vectors are learned so that related words get similar vectors; here they are random but "
        "fixed (the same word always gets the same row). Attention by itself ignores word order, so a "
        "**positional encoding** can be added to tell the positions apart.",
        r"X_i = E[\text{token}_i] + P_i \qquad X \in \mathbb{R}^{n \times d_{model}}",
    ),
    "projection": (
        "Each token's row of X is multiplied by three **learned weight matrices**. They give every token "
        "three different roles: W_q turns it into a **query** (what am I looking for?), W_k into a **key** "
        "(what do I contain?), and W_v into a **value** (what do I pass on if someone attends to me?). "
        "Training adjusts these matrices; here they are random, scaled by 1/√d_model to keep numbers small.",
        r"Q = X W_q \qquad K = X W_k \qquad V = X W_v",
    ),
    "qkv": (
        "Every token now has three vectors. Its **query** will be compared with every token's **key** to "
        "decide where to look; the **values** are what gets mixed together once that is decided. "
        "Q and K must have the same width d_k so that they can be compared with a dot product; "
        "V may have its own width d_v.",
        r"q_i = x_i W_q,\quad k_j = x_j W_k,\quad v_j = x_j W_v",
    ),
    "scores": (
        "To decide where each token should look, its query is compared with every key by a **dot product**: "
        "multiply entry by entry and add up. A large positive score means the key matches what the query is "
        "looking for. Doing this for every pair at once is one matrix product, giving an n × n table: row i "
        "holds query i's scores against all keys.",
        r"S = Q K^{\top}, \qquad S_{ij} = q_i \cdot k_j = \sum_{m=1}^{d_k} q_{i,m}\, k_{j,m}",
    ),
    "scaling": (
        "A dot product of two d_k-long vectors adds up d_k terms, so its typical size grows like √d_k. "
        "Large scores push softmax to put almost all weight on one key, and then its gradients nearly vanish "
        "and training stalls. Dividing by √d_k brings the scores back to a typical size of about 1, whatever "
        "d_k is. A **temperature** T divides them further: below 1 it sharpens the softmax, above 1 it "
        "flattens it.",
        r"\tilde S = \frac{Q K^{\top}}{\sqrt{d_k}\; T}",
    ),
    "softmax": (
        "Softmax turns each row of scaled scores into **attention weights**: all positive, adding up to 1. "
        "Exponentiating makes the largest score stand out; dividing by the row's sum makes the weights a share. "
        "Subtracting the row's largest score first changes nothing in the result but keeps the exponentials "
        "from overflowing. With the **causal mask** on, a token cannot see later tokens: those weights are "
        "exactly 0.",
        r"A_{ij} = \frac{\exp(\tilde S_{ij} - \max_k \tilde S_{ik})}"
        r"{\sum_{l} \exp(\tilde S_{il} - \max_k \tilde S_{ik})}",
    ),
    "rotate": (
        "Attention by itself ignores word order. This model does not add a positional vector to X: instead it "
        "**rotates** each query and each key by an angle that grows with the token's position (RoPE). The "
        "numbers of a vector are taken in pairs, and each pair is turned like the hand of a clock — the first "
        "pairs quickly, the last ones slowly. A rotation keeps a vector's length and changes only its "
        "direction. Because the query at position i is turned by i·θ and the key at position j by j·θ, their "
        "dot product depends on the **difference i − j**: how far apart the two tokens are, not where they "
        "are in the text.",
        r"\begin{pmatrix} q'_{2m} \\ q'_{2m+1} \end{pmatrix} = \begin{pmatrix} \cos i\theta_m & -\sin i\theta_m "
        r"\\ \sin i\theta_m & \cos i\theta_m \end{pmatrix} \begin{pmatrix} q_{2m} \\ q_{2m+1} \end{pmatrix} "
        r"\qquad \theta_m = \text{base}^{-2m/d_k}",
    ),
    "output": (
        "Each token's new vector is a **weighted average of all the value vectors**, using its row of "
        'attention weights. A token that attends mostly to "cat" ends up carrying mostly cat\'s value. '
        "This output is the token's representation, now mixed with the context it attended to.",
        r"\text{output}_i = \sum_j A_{ij}\, v_j \qquad O = A V",
    ),
}


def intro(trace, slug):  # -> (explanation as markdown, formula as LaTeX), in the words of the trace's model
    return family_of(trace).texts.get(slug, INTRO[slug])


def title(stages, slug):  # a family's stage list, a slug -> "4. Raw scores"
    return f"{stage_number(stages, slug)}. {STAGES[slug].title}"


def rotate_shapes(trace):
    return (
        ("Q", trace.q.shape[1:]),
        ("K", trace.k.shape[1:]),
        ("angles", (len(trace.tokens), trace.q.shape[-1] // 2)),
    )


def embedding_shapes(trace):  # -> ((name, shape), ...): what goes in and what comes out of the stage
    return (("tokens", (len(trace.tokens),)), ("X", trace.x.shape))


def projection_shapes(trace):
    return (("X", trace.x.shape), ("W_q", trace.w_q.shape[1:]), ("W_k", trace.w_k.shape[1:]), ("W_v", trace.w_v.shape[1:]))  # fmt: skip


def qkv_shapes(trace):
    return (("Q", trace.q.shape[1:]), ("K", trace.k.shape[1:]), ("V", trace.v.shape[1:]))


def scores_shapes(trace):
    return (("Q", trace.q.shape[1:]), ("Kᵀ", trace.k.shape[:0:-1]), ("S", trace.scores.shape[1:]))


def scaling_shapes(trace):
    return (("S", trace.scores.shape[1:]), ("scaled", trace.scaled.shape[1:]))


def softmax_shapes(trace):
    return (("scaled", trace.scaled.shape[1:]), ("A", trace.weights.shape[1:]))


def output_shapes(trace):
    return (
        ("A", trace.weights.shape[1:]),
        ("V", trace.v.shape[1:]),
        ("output", trace.head_outputs.shape[1:]),
    )


def shapes_line(shapes):  # ((name, shape), ...) -> "X 6 × 8 · W_q 8 × 4 · …"
    return " · ".join(f"{name} {' × '.join(map(str, shape))}" for name, shape in shapes)


def divisor_note(trace):  # the scaling stage: what the scores are divided by here, as markdown
    config = trace.config
    return (
        f"Here d_k = {config.d_k}, so √d_k = {config.d_k**0.5:.3f}; temperature {config.temperature:g}. "
        f"Every score is divided by **{trace.divisor:.4g}**."
        + ("" if config.scale else " Scaling is **off**: only the temperature divides.")
    )
