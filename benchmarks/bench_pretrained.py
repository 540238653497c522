"""Time and memory of the pretrained MiniLM in NumPy, and PyTorch on the same machine where it is installed.

    python benchmarks/bench_pretrained.py              # NumPy only
    /tmp/venv-torch/bin/python benchmarks/bench_pretrained.py   # adds the PyTorch column

Prints a markdown table. "Forward" is the whole encoder with every layer's
attention weights (what transformers' BertModel computes with
output_attentions=True), from token ids, uncached; "run" is what a page render
costs once the sentence's layer inputs are cached: one layer's trace.
"""

import hashlib
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from attention_core.pretrained import encoder_forward, load_pretrained

WORDS = (
    "the",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "a",
    "lazy",
    "dog",
    "while",
    "every",
    "head",
    "looks",
)


def memory_mib(field):  # "VmRSS" (now) or "VmHWM" (peak) of this process, from /proc/self/status
    with open("/proc/self/status") as status:
        kib = next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
    return kib / 1024


def median_ms(function, repeats):
    function()  # warm-up: first-call allocations and BLAS thread start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def sentence_of(model, n):  # a sentence of exactly n word pieces, [CLS] and [SEP] included
    sentence = " ".join(WORDS[i % len(WORDS)] for i in range(n - 2))
    assert len(model.encode(sentence)[0]) == n
    return sentence


def main():
    rss_before = memory_mib("VmRSS")
    start = time.perf_counter()
    model = load_pretrained()
    load_s = time.perf_counter() - start
    rss_loaded, rss_peak = memory_mib("VmRSS"), memory_mib("VmHWM")
    start = time.perf_counter()
    hashlib.sha256((model.folder / "model.safetensors").read_bytes()).hexdigest()
    hash_s = time.perf_counter() - start

    try:
        import torch
        from transformers import BertModel
    except ImportError:
        torch = None
    else:
        bert = BertModel.from_pretrained(
            str(model.folder), local_files_only=True, attn_implementation="eager"
        )
        bert.eval()

    rows = [
        ("first load: SHA-256 check, parse, float64 copy", f"{load_s:.2f} s", "", ""),
        ("of which hashing 87 MiB", f"{hash_s:.2f} s", "", ""),
        (
            "RSS before load → with model loaded (peak)",
            f"{rss_before:.0f} → {rss_loaded:.0f} MiB ({rss_peak:.0f})",
            "",
            "",
        ),
    ]
    for n, repeats in ((8, 50), (64, 20)):
        sentence = sentence_of(model, n)
        encoded = model.encode(sentence)
        numpy_ms = median_ms(lambda encoded=encoded: encoder_forward(model, *encoded), repeats)
        torch_ms = ratio = ""
        if torch is not None:
            ids = torch.tensor([encoded[1]])

            def torch_forward(ids=ids):
                with torch.no_grad():
                    bert(input_ids=ids, output_attentions=True)

            torch_time = median_ms(torch_forward, repeats)
            torch_ms, ratio = f"{torch_time:.1f} ms", f"{numpy_ms / torch_time:.1f}"
        rows.append((f"forward, {n} tokens (median of {repeats})", f"{numpy_ms:.1f} ms", torch_ms, ratio))
        model.run(sentence, 3)  # fills the cache of layer inputs
        run_ms = median_ms(lambda sentence=sentence: model.run(sentence, 3), repeats)
        rows.append((f"run(sentence, layer), {n} tokens, inputs cached", f"{run_ms:.2f} ms", "", ""))

    import numpy

    torch_version = f", torch {torch.__version__} ({torch.get_num_threads()} threads)" if torch else ""
    load = os.getloadavg()[0]
    print(f"{os.cpu_count()} cores, load average {load:.1f}, numpy {numpy.__version__}{torch_version}")
    print()
    print("| measure | NumPy | PyTorch | NumPy / PyTorch |")
    print("| --- | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
