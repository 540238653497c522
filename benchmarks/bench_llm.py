"""The NumPy models next to Hugging Face transformers, one thread each: SmolLM2 (llm.py) and MiniLM (pretrained.py).

Run from the repository root; the transformers columns need the PyTorch venv of
scripts/make_smollm2_fixture.py (without it they stay empty):

    /tmp/venv-llm/bin/python benchmarks/bench_llm.py

"forward" is one pass from token ids, uncached, as each library computes it to
predict: SmolLM2's residual stream with every layer's attention weights (float32)
and the next token's logits (NumPy: the last position only; transformers: every
position, its default, and in a second row the last only, ``logits_to_keep=1``);
MiniLM's encoder with every layer's attention weights. "attentions() of a new text" is
what the app waits for: the pass and every layer's float64 trace weights. NumPy and
transformers are timed in turn, so a busy machine slows both alike: the ratio is
the figure to trust. Peak memory is measured in a fresh process that loads the
model and answers one sentence.
"""

import os

os.environ["OPENBLAS_NUM_THREADS"] = "1"  # before NumPy loads OpenBLAS: one thread, as torch gets
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["HF_HUB_OFFLINE"] = "1"  # the Hub is unreachable here; fail at once rather than retry

import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a plain script from anywhere

from attention_core import llm, pretrained

ROOT = Path(__file__).resolve().parents[1]
LENGTHS = ((8, 30), (64, 15))  # (tokens, repeats)
WORDS = ("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "every", "head")
PEAK_RSS = """
import os, sys
sys.path.insert(0, {root!r})
from attention_core import llm
llm.load_llm().next_token_probs("The capital of France is")
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")))
"""


def median_ms(works, repeats):  # callables -> median ms of each, timed in turn after one warm-up
    times = [[] for _ in works]
    for repeat in range(repeats + 1):
        for work, spent in zip(works, times, strict=True):
            start = time.perf_counter()
            work()
            if repeat:
                spent.append(1000 * (time.perf_counter() - start))
    return [statistics.median(spent) for spent in times]


def text_of(tokenize, n):  # a text of exactly n tokens (or word pieces, [CLS] and [SEP] counted)
    for words in range(1, 4 * n):
        text = " ".join(WORDS[i % len(WORDS)] for i in range(words))
        if len(tokenize(text)) == n:
            return text
    raise ValueError(f"no text of {n} tokens")


def torch_llm():  # -> (forward(ids, last_only), about) for transformers' Llama, or None without PyTorch
    try:
        import torch
    except ImportError:
        return None
    sys.path.insert(0, str(ROOT / "scripts"))
    from make_smollm2_fixture import load_reference, packaged_file

    torch.set_num_threads(1)
    _, model = load_reference(packaged_file())

    def forward(ids, last_only):
        with torch.no_grad():
            model(torch.tensor([ids]), output_attentions=True, use_cache=False, logits_to_keep=int(last_only))

    return forward, f"torch {torch.__version__}, {torch.get_num_threads()} thread"


def torch_bert(folder):  # -> forward(ids) for transformers' BertModel, or None without PyTorch
    try:
        import torch
        from transformers import BertModel
    except ImportError:
        return None
    torch.set_num_threads(1)
    bert = BertModel.from_pretrained(str(folder), local_files_only=True, attn_implementation="eager").eval()

    def forward(ids):
        with torch.no_grad():
            bert(input_ids=torch.tensor([ids]), output_attentions=True)

    return forward


def numpy_llm_forward(model, ids):  # what next_token_probs costs when nothing is cached
    stream = llm.decoder_forward(model, ids)
    return llm.logits(model, stream[-1][-1:])


def cells(numpy_ms, torch_ms):
    if torch_ms is None:
        return f"{numpy_ms:.1f} ms", "", ""
    return f"{numpy_ms:.1f} ms", f"{torch_ms:.1f} ms", f"{numpy_ms / torch_ms:.2f}"


def main():
    rows = []
    start = time.perf_counter()
    model = llm.load_llm()
    rows.append(
        (
            "SmolLM2: first load (SHA-256, parse, dequantize, tokenizer)",
            f"{time.perf_counter() - start:.2f} s",
            "",
            "",
        )
    )
    reference = torch_llm()
    for n, repeats in LENGTHS:
        ids = model.tokenize(text_of(model.tokenize, n))
        works = [partial(numpy_llm_forward, model, ids)]
        if reference:
            works += [partial(reference[0], ids, False), partial(reference[0], ids, True)]
        numpy_ms, *torch_ms = median_ms(works, repeats)
        rows.append(
            (
                f"SmolLM2 forward, {n} tokens (median of {repeats})",
                *cells(numpy_ms, torch_ms[0] if torch_ms else None),
            )
        )
        rows.append(
            (
                f"SmolLM2 forward, {n} tokens, transformers' logits of the last position only",
                *cells(numpy_ms, torch_ms[1] if torch_ms else None),
            )
        )
        text = text_of(model.tokenize, n)

        def attentions_anew(text=text):  # a text not seen yet: one forward pass and 30 float64 traces
            model.cache.clear()
            model.attentions(text)

        anew_ms, run_ms = median_ms([attentions_anew, partial(model.run, text, 3)], repeats)
        rows.append(
            (
                f"SmolLM2 attentions() of a new text, {n} tokens: forward + 30 float64 traces",
                f"{anew_ms:.1f} ms",
                "",
                "",
            )
        )
        rows.append((f"SmolLM2 run(text, layer), {n} tokens, pass cached", f"{run_ms:.1f} ms", "", ""))
    peak = subprocess.run(
        [sys.executable, "-c", PEAK_RSS.format(root=str(ROOT))], capture_output=True, text=True, check=True
    )
    rows.append(
        ("SmolLM2 peak RSS: fresh process, load + one sentence", f"{int(peak.stdout) / 1024:.0f} MiB", "", "")
    )

    minilm = pretrained.load_pretrained()
    bert = torch_bert(minilm.folder)
    for n, repeats in LENGTHS:
        tokens, ids, type_ids = minilm.encode(text_of(lambda text: minilm.encode(text)[0], n))
        works = [partial(pretrained.encoder_forward, minilm, tokens, ids, type_ids)]
        if bert:
            works.append(partial(bert, ids))
        numpy_ms, *torch_ms = median_ms(works, repeats)
        rows.append(
            (
                f"MiniLM forward, {n} word pieces (median of {repeats})",
                *cells(numpy_ms, torch_ms[0] if torch_ms else None),
            )
        )

    about = f", {reference[1]}" if reference else ", no PyTorch"
    print(
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}, numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}{about}"
    )
    print()
    print("| measure | NumPy | transformers | NumPy / transformers |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
