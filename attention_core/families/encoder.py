"""A pretrained BERT-family encoder: all-MiniLM-L6-v2, or the folder named by ``ATTENTION_MODEL_DIR``.

Its sizes are the loaded model's own (any BERT folder: 2 layers or 12, 2 heads or 16). Loading needs
``safetensors`` and ``tokenizers``; ``attention_core.pretrained`` imports them only when a model is loaded.
"""

from attention_core import pretrained
from attention_core.families.base import Family, Sizes, Status
from attention_core.stages import SEVEN

MARKERS_NOTE = (
    "The sentence is split into WordPiece tokens, with **[CLS]** added at the start and **[SEP]** at the "
    "end: markers the model was trained with. Many heads send most of their attention to [CLS] or [SEP] "
    "when they have nothing specific to look for — a resting place whose value changes the output little."
)
TEXTS = {
    "embedding": (
        "The model splits the sentence into **WordPiece** tokens (a rare word becomes several pieces marked "
        "##) and adds [CLS] and [SEP]. Layer 0 reads, for each token, the sum of three learned vectors — "
        "its word piece, its position and its segment — normalised to mean 0 and variance 1 "
        "(LayerNorm). Every later layer reads the output of the layer before. That input is **X**.",
        r"X^{(0)} = \mathrm{LayerNorm}(E_{word} + E_{position} + E_{type}) \qquad "
        r"X^{(\ell)} = \text{output of layer } \ell - 1",
    ),
    "projection": (
        "Each token's row of X is multiplied by three **learned weight matrices**. They give every token "
        "three different roles: W_q turns it into a **query** (what am I looking for?), W_k into a **key** "
        "(what do I contain?), and W_v into a **value** (what do I pass on if someone attends to me?). "
        "Training has set these matrices: these are the model's own.",
        r"Q = X W_q + b_q \qquad K = X W_k + b_k \qquad V = X W_v + b_v",
    ),
}
NOTES = {  # a page's URL path -> what the student should know about this model there
    "embedding": MARKERS_NOTE,
    "model_view": MARKERS_NOTE,
    "projection": MARKERS_NOTE
    + "\n\nIts projections also add a learned **bias** vector (b_q, b_k, b_v). PyTorch stores each weight "
    "as [out, in]; here it is transposed to [in, out] so that a row of X times W gives a row of Q.",
}


def status():  # -> Status; loads and checks the weights once per process
    found = pretrained.pretrained_status()
    return Status(found.available, found.message)


def sizes(options):  # -> Sizes of the loaded model
    model = pretrained.load_pretrained()
    return Sizes(layers=len(model.layers), heads=model.config.n_heads)


FAMILY = Family(
    key=pretrained.FAMILY_KEY,
    title="the pretrained encoder",
    summary="a pretrained BERT encoder (all-MiniLM-L6-v2, or the folder whoever runs the server chose), "
    "computed here step by step in NumPy.",
    options=(),
    stages=SEVEN,
    sizes=sizes,
    run=lambda sentence, options: pretrained.load_pretrained().run(sentence, options["layer"]),
    status=status,
    attentions=lambda sentence, options: pretrained.load_pretrained().attentions(sentence),
    model=pretrained.load_pretrained,
    weights="real learned weights",
    units="word pieces",
    texts=TEXTS,
    notes=NOTES,
)
