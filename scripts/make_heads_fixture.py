"""Write tests/fixtures/heads_reference.npz: every head's pattern scores, from Hugging Face transformers' attentions.

tests/test_heads.py compares attention_core.heads (which reads the NumPy models' attentions) against this
file, so the check runs without PyTorch. The scores here are computed from transformers' own
``output_attentions`` with formulas written out in this file, row by row (``reference_scores``), not with
attention_core.heads; only the probes come from there (its sentences, and the random token ids it draws,
which depend on the tokenizer alone). Rerun it (from the repository root) after changing the probes, the
patterns or the model packages, in the environment scripts/make_smollm2_fixture.py describes:

    HF_HUB_OFFLINE=1 /tmp/venv-llm/bin/python scripts/make_heads_fixture.py

It reads the packaged models only (no network). For each model (``minilm``, ``smollm2``) the file holds
``<model>_patterns`` (the pattern names, in order), ``<model>_scores`` [layers, heads, patterns] (float64,
from float32 attentions, as the models run in PyTorch by default), ``<model>_induction_ids`` [sequences,
tokens] and ``<model>_text_ids_<i>`` (transformers' token ids of each probe sentence).
"""

import importlib.util
import math
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "fixtures" / "heads_reference.npz"
sys.path.insert(0, str(ROOT))

from attention_core import heads  # noqa: E402  (the probes: sentences and random ids)


def _script(name):  # another script of this folder, as a module
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def row_mean(weights, pairs):  # [n, n], (query, key) pairs -> their mean weight
    return sum(float(weights[i, j]) for i, j in pairs) / len(pairs)


def row_spread(weights, causal):  # [n, n] -> the mean of each row's entropy over the largest it could have
    n = len(weights)
    total = 0.0
    for i in range(1, n):
        seen = i + 1 if causal else n
        entropy = -sum(float(p) * math.log(float(p)) for p in weights[i, :seen] if p > 0)
        total += entropy / math.log(seen)
    return total / (n - 1)


def reference_scores(texts, repeats, before, length, causal):
    """texts: each probe sentence's attentions [layers, heads, n, n]; repeats: each random sequence's, its
    `length` tokens starting at position `before`, then again. -> (pattern names, [layers, heads, patterns])."""
    patterns = ["induction", "previous token", "self", "first token" if causal else "[CLS]", "broad"]
    if not causal:
        patterns += ["next token", "[SEP]"]
    layers, n_heads = texts[0].shape[:2]
    scores = np.zeros((layers, n_heads, len(patterns)))
    for layer in range(layers):
        for head in range(n_heads):
            found = {name: [] for name in patterns}
            for attentions in texts:
                w = attentions[layer, head]
                n = len(w)
                found["previous token"].append(row_mean(w, [(i, i - 1) for i in range(1, n)]))
                found["self"].append(row_mean(w, [(i, i) for i in range(1, n)]))
                found[patterns[3]].append(row_mean(w, [(i, 0) for i in range(1, n)]))
                found["broad"].append(row_spread(w, causal))
                if not causal:
                    found["next token"].append(row_mean(w, [(i, i + 1) for i in range(1, n - 1)]))
                    found["[SEP]"].append(row_mean(w, [(i, n - 1) for i in range(1, n)]))
            for attentions in repeats:
                w = attentions[layer, head]
                # Token k of the repeat sits at before + length + k; the token after its earlier copy at
                # before + k + 1.
                found["induction"].append(
                    row_mean(w, [(before + length + k, before + k + 1) for k in range(length)])
                )
            scores[layer, head] = [sum(values) / len(values) for values in found.values()]
    return patterns, scores


def minilm_attentions(folder, texts, sequences):  # -> (text ids, text attentions, repeat attentions)
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch
    from transformers import AutoTokenizer, BertModel

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = BertModel.from_pretrained(folder, local_files_only=True, attn_implementation="eager").eval()

    def attentions(ids):
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_attentions=True)
        return torch.stack([a[0] for a in out.attentions]).double().numpy()

    text_ids = [tokenizer(text)["input_ids"] for text in texts]
    framed = [
        [tokenizer.cls_token_id, *map(int, ids), *map(int, ids), tokenizer.sep_token_id] for ids in sequences
    ]
    return text_ids, [attentions(ids) for ids in text_ids], [attentions(ids) for ids in framed]


def smollm2_attentions(texts, sequences):  # -> (text ids, text attentions, repeat attentions)
    import torch

    script = _script("make_smollm2_fixture")
    tokenizer, model = script.load_reference(script.packaged_file())

    def attentions(ids):
        with torch.no_grad():
            out = model(torch.tensor([ids]), output_attentions=True, use_cache=False)
        return torch.stack([a[0] for a in out.attentions]).double().numpy()

    text_ids = [tokenizer(text)["input_ids"] for text in texts]
    repeated = [[*map(int, ids), *map(int, ids)] for ids in sequences]  # SmolLM2 adds no beginning-of-text
    return text_ids, [attentions(ids) for ids in text_ids], [attentions(ids) for ids in repeated]


def reference(name):  # "minilm" or "smollm2" -> {key: array} for the file, from transformers
    from attention_core import llm, pretrained

    model = pretrained.load_pretrained() if name == "minilm" else llm.load_llm()
    sequences = heads.induction_ids(model)
    if name == "minilm":
        text_ids, texts, repeats = minilm_attentions(str(model.folder), heads.PROBE_TEXTS, sequences)
        before, causal = 1, False
    else:
        text_ids, texts, repeats = smollm2_attentions(heads.PROBE_TEXTS, sequences)
        before, causal = 0, True
    patterns, scores = reference_scores(texts, repeats, before, heads.INDUCTION_TOKENS, causal)
    arrays = {f"{name}_patterns": np.array(patterns), f"{name}_scores": scores}
    arrays[f"{name}_induction_ids"] = sequences.astype(np.int32)
    arrays |= {f"{name}_text_ids_{i}": np.array(ids, np.int32) for i, ids in enumerate(text_ids)}
    return arrays


def main():
    import torch
    import transformers

    arrays = reference("minilm") | reference("smollm2")
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUTPUT,
        probe_texts=np.array(heads.PROBE_TEXTS),
        versions=np.array(f"torch {torch.__version__}, transformers {transformers.__version__}"),
        **arrays,
    )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
