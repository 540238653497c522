"""A modern decoder LLM: SmolLM2-135M-Instruct (or the Llama GGUF named by ``ATTENTION_LLM_PATH``).

Two attention steps differ from the textbook's: queries and keys are rotated by position (a stage of its
own, "rotate") instead of a positional vector added to X, and groups of query heads share one key/value
head. The causal mask is always on: a decoder writes text one token at a time, so a token may only look
back. Loading needs ``gguf`` and ``tokenizers``; ``attention_core.llm`` imports them only when it loads.
"""

from attention_core import llm
from attention_core.families.base import Family, Sizes, Status
from attention_core.stages import SEVEN

STAGES = (*SEVEN[:3], "rotate", *SEVEN[3:])  # the rotation by position comes between Q, K, V and the scores
TEXTS = {
    "embedding": (
        "The text is split into **tokens** by byte-level BPE: common words are one token, rarer ones several "
        "pieces (␣ marks a space that belongs to the token). Layer 0 reads each token's learned embedding; "
        "every later layer reads the output of the layer before. Before attention, each row is "
        "**RMS-normalised** (divided by its root mean square, then scaled by learned gains): that is **X**. "
        "There is no positional vector here — positions enter later, by rotating the queries and keys.",
        r"X = \mathrm{RMSNorm}(H^{(\ell)}) = \frac{H^{(\ell)}}{\sqrt{\mathrm{mean}(H^{(\ell)2}) + \epsilon}} \odot g",
    ),
    "projection": (
        "Each row of X is multiplied by learned weight matrices, as in the textbook, with no biases. But the "
        "model has fewer key and value heads than query heads: **groups of query heads share one W_k and one "
        "W_v** (grouped-query attention). That keeps fewer keys and values in memory while the model writes, "
        "at little cost in quality.",
        r"Q_h = X W_q^{(h)} \qquad K_g = X W_k^{(g)} \qquad V_g = X W_v^{(g)} \qquad g = \lfloor h / \text{group} \rfloor",
    ),
    "softmax": (
        "Softmax turns each row of scaled scores into **attention weights** that add up to 1. In a decoder the "
        "**causal mask is always on**: the model writes one token after another, so while computing a token it "
        "may only look at that token and the ones before it — the future does not exist yet. Everything above "
        "the diagonal is exactly 0.",
        r"A_{ij} = \frac{\exp(\tilde S_{ij})}{\sum_{l \le i} \exp(\tilde S_{il})} \quad (j \le i), \qquad A_{ij} = 0 \quad (j > i)",
    ),
}
SINK_NOTE = (
    "This head puts most of its weight on the **first token**. Many heads of a trained LLM do that when "
    "nothing in the text concerns them: the first token is visible from every position, so it becomes a "
    "parking place — an **attention sink** — whose value vector changes the output little."
)


def shared_note(trace, head):  # the query head's key/value head, and the heads that share it
    group = trace.config.n_heads // trace.kv_heads
    shared = range(head // group * group, head // group * group + group)
    others = ", ".join(str(h + 1) for h in shared if h != head)
    return (
        f"**Shared keys and values.** Query head {head + 1} reads key/value head {head // group + 1} of "
        f"{trace.kv_heads}, which query heads {others} read too: the {trace.config.n_heads} query heads share "
        f"{trace.kv_heads} W_k and W_v, {group} to each. So K and V below are the same for those heads."
    )


def sink_note(trace, head):  # the attention sink, where this head shows one
    on_first = trace.weights[head, 1:, 0].mean() if len(trace.tokens) > 1 else 0.0
    return SINK_NOTE if on_first > 0.5 else None


def sizes(options):  # -> Sizes of the loaded model (loading it, the first time)
    config = llm.load_llm().config
    return Sizes(layers=config.n_layers, heads=config.n_heads, kv_heads=config.kv_heads)


def status():  # -> Status: the file is there and whole; the weights load when the model is first chosen
    found = llm.llm_status(load=False)
    return Status(found.available, found.message)


FAMILY = Family(
    key=llm.FAMILY_KEY,
    title="the language model",
    summary="SmolLM2-135M-Instruct, a modern decoder LLM (30 layers; 9 query heads sharing 3 key/value heads; "
    "positions by rotation), computed here in NumPy: it predicts the next word (see Next word).",
    options=(),
    stages=STAGES,
    sizes=sizes,
    run=lambda sentence, options: llm.load_llm().run(sentence, options["layer"]),
    status=status,
    attentions=lambda sentence, options: llm.load_llm().attentions(sentence),
    model=llm.load_llm,
    writes=True,
    weights="real learned weights",
    texts=TEXTS,
    notes={"projection": shared_note, "qkv": shared_note, "softmax": sink_note, "scores": sink_note},
)
