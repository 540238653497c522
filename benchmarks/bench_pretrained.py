"""Load time, forward time and memory of the pretrained MiniLM in NumPy, next to PyTorch where installed.

Run from the repository root (the second adds the PyTorch column; see scripts/make_minilm_fixture.py
for that venv):

    python benchmarks/bench_pretrained.py
    /tmp/venv-torch/bin/python benchmarks/bench_pretrained.py

"forward" is the whole encoder with every layer's attention weights, from token
ids and uncached: what transformers' BertModel computes with
output_attentions=True. "run" is what a page costs once a sentence's layer
inputs are cached: one layer's trace. NumPy and PyTorch are timed in turn, so a
busy machine slows both alike; the ratio is the figure to trust.
"""

import hashlib
import os
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script from anywhere

from attention_core.pretrained import encoder_forward, load_pretrained

LENGTHS = ((8, 50), (64, 20))  # (word pieces including [CLS] and [SEP], repeats)
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "every", "head")


def memory_mib(field):  # "VmRSS" (now) or "VmHWM" (peak) of this process, from /proc/self/status
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":")) / 1024


def median_ms(works, repeats):  # callables -> median ms of each, timed in turn after one warm-up
    times = [[] for _ in works]
    for repeat in range(repeats + 1):
        for work, spent in zip(works, times, strict=True):
            start = time.perf_counter()
            work()
            if repeat:
                spent.append(1000 * (time.perf_counter() - start))
    return [statistics.median(spent) for spent in times]


def sentence_of(model, n):  # a sentence of exactly n word pieces
    sentence = " ".join(WORDS[i % len(WORDS)] for i in range(n - 2))
    assert len(model.encode(sentence)[0]) == n
    return sentence


def torch_forward(folder):  # -> callable(ids) running BertModel, or None without PyTorch
    try:
        import torch
        from transformers import BertModel
    except ImportError:
        return None
    bert = BertModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()

    def forward(ids):
        with torch.no_grad():
            bert(input_ids=torch.tensor([ids]), output_attentions=True)

    forward.about = f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    return forward


def main():
    rss_before = memory_mib("VmRSS")
    start = time.perf_counter()
    model = load_pretrained()
    load_s = time.perf_counter() - start
    rss_loaded, rss_peak = memory_mib("VmRSS"), memory_mib("VmHWM")
    start = time.perf_counter()
    hashlib.sha256((model.folder / "model.safetensors").read_bytes()).hexdigest()
    hash_s = time.perf_counter() - start
    torch_bert = torch_forward(model.folder)

    rows = [
        ("first load: SHA-256 check, parse, float64 copy", f"{load_s:.2f} s", "", ""),
        ("of which reading and hashing model.safetensors", f"{hash_s:.2f} s", "", ""),
        (
            "RSS before load, loaded (peak)",
            f"{rss_before:.0f}, {rss_loaded:.0f} MiB ({rss_peak:.0f})",
            "",
            "",
        ),
    ]
    for n, repeats in LENGTHS:
        sentence = sentence_of(model, n)
        tokens, ids, type_ids = model.encode(sentence)
        model.run(sentence, 3)  # fills the cache of layer inputs
        works = [partial(encoder_forward, model, tokens, ids, type_ids), partial(model.run, sentence, 3)]
        if torch_bert:
            works.append(partial(torch_bert, ids))
        numpy_ms, run_ms, *torch_ms = median_ms(works, repeats)
        torch_cells = (f"{torch_ms[0]:.1f} ms", f"{numpy_ms / torch_ms[0]:.1f}") if torch_ms else ("", "")
        rows.append((f"forward, {n} tokens (median of {repeats})", f"{numpy_ms:.1f} ms", *torch_cells))
        rows.append((f"run(sentence, layer), {n} tokens, inputs cached", f"{run_ms:.2f} ms", "", ""))

    about_torch = f", {torch_bert.about}" if torch_bert else ""
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, numpy {np.__version__}{about_torch}"
    )
    print()
    print("| measure | NumPy | PyTorch | NumPy / PyTorch |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
