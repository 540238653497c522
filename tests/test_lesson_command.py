"""The lesson file (attention_viz.lesson) and the package: the command, its messages, the file's contents.

The file in a browser (offline, stepping, printing, revealing) is tested in tests/browser/test_lesson_in_browser.py.
"""

import base64
import json
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from attention_core import AttentionConfig, run_attention
from attention_viz import lesson, panels

REPO = Path(__file__).resolve().parents[1]
LONG = " ".join(f"w{k}" for k in range(64))  # 64 tokens, the most the app takes


def run_command(*arguments, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "attention_viz.lesson", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        check=False,
    )


def embedded(document, name):  # -> the JSON document in <script id=name>
    found = re.search(rf'<script type="application/json" id="{name}">(.*?)</script>', document, re.S)
    return json.loads(found.group(1))


def unpack(value):  # a packed array -> ndarray, as the page's script unpacks it
    dtype = "<f8" if "float64" in value else "<f4"
    data = np.frombuffer(base64.b64decode(value.get("float64") or value["float32"]), dtype=dtype)
    return data.astype(np.float64).reshape(value["shape"])


def test_the_command_writes_one_lesson_with_the_chosen_settings(tmp_path):
    output = tmp_path / "lesson.html"
    done = run_command(
        "the cat sat on the mat", "-o", str(output), "--causal", "--heads", "2", "--head", "2",
        "--d-k", "6", "--positional", "sinusoidal", "--temperature", "0.5", "--seed", "7",
        "--query", "sat", "--key", "cat",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = output.read_text(encoding="utf-8")
    trace = run_attention(
        "the cat sat on the mat",
        AttentionConfig(n_heads=2, d_k=6, positional="sinusoidal", temperature=0.5, seed=7, causal=True),
    )
    saved = embedded(document, "trace-json")
    assert saved["config"] == json.loads(json.dumps(trace.config.__dict__))
    for name in ("x", "w_q", "scores", "scaled", "weights", "head_outputs", "output"):
        np.testing.assert_array_equal(unpack(saved[name]), getattr(trace, name))  # exact, every digit
    assert "head 2 of 2" in document and "causal mask on" in document
    assert "Query <strong>sat</strong> against key <strong>cat</strong>" in document
    assert document.count('<section class="stage"') == 8  # the overview and seven stages
    for number in range(1, 8):
        assert f'id="stage-{number}"' in document


def test_every_chart_holds_the_numbers_of_the_trace(tmp_path):
    trace = run_attention("the cat sat on the mat", AttentionConfig(n_heads=2, positional="sinusoidal"))
    document = lesson.lesson_html(trace, lesson.View(head=1))
    specs = embedded(document, "charts-json")
    charts = re.findall(
        r'<div class="chart" id="([^"]+)"[^>]*data-source="([^"]+)" data-head="(\d)"', document
    )
    assert len(charts) == len(specs) == 7 + 3 + 3 + 3 + 1 + 1 + 1 + 2
    for name, source, head in charts:
        z = specs[name]["data"][0]["z"]
        values = np.frombuffer(base64.b64decode(z["bdata"]), dtype=z["dtype"]).reshape(
            [int(size) for size in str(z["shape"]).split(",")]
        )
        expected = panels.numbers(trace, source.split(), int(head))
        np.testing.assert_array_equal(values, expected[: values.shape[0], : values.shape[1]])
        assert values.shape == expected.shape or values.shape == (64, 64)


def test_no_script_or_style_comes_from_anywhere_else():
    document = lesson.lesson_html(run_attention("the cat sat"))
    assert not re.search(r"<(script|img|iframe|link)\b[^>]*\b(src|href)=", document)
    assert "<math" in document and "katex" not in document.lower()  # formulas as MathML, no font to fetch


def test_user_text_stays_text():
    hostile = "<img src=x onerror=alert(1)> </script><script>alert(2)</script> שלום 🙂"
    trace = run_attention(hostile)
    document = lesson.lesson_html(trace, lesson.View(sentence=hostile))
    assert "<img src=x" not in document and "<script>alert(2)" not in document
    assert "&lt;img src=x onerror=alert(1)&gt;" in document
    assert "שלום 🙂" in document


def test_a_64_token_lesson_stays_under_6_mb():
    size = len(lesson.lesson_html(run_attention(LONG)).encode("utf-8"))
    assert size <= 6_000_000, f"{size / 1e6:.2f} MB"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["   "], "Type at least one word."),
        ([" ".join(["w"] * 65)], "That is 65 tokens; the limit is 64."),
        (["the cat", "--query", "dog"], "--query “dog” is not one of the sentence's tokens: the, cat."),
        (["the cat", "--head", "3"], "--head must be between 1 and 1; got 3."),
        (["the cat", "--positional", "learned"], "Positional encoding must be one of"),
        (["the cat", "--d-k", "0"], "d_k must be from 1 to 64; got 0."),
        (["the cat", "--temperature", "0"], "Temperature must be from 0.01 to 100; got 0.0."),
    ],
)
def test_unusable_input_gets_the_apps_message_exit_status_2_and_no_file(tmp_path, arguments, message):
    output = tmp_path / "lesson.html"
    done = run_command(*arguments, "-o", str(output))
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not output.exists()


def test_the_package_installs_both_packages_with_their_extras(tmp_path):
    """`pip install .` from a wheel: attention_core and attention_viz, no app; plotting and models as extras."""
    source = tmp_path / "source"  # a copy: building in the repository would leave build/ behind
    source.mkdir()
    shutil.copy(REPO / "pyproject.toml", source)
    for package in ("attention_core", "attention_viz"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path), str(source)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith("METADATA"))).decode()
    packages = {name.split("/")[0] for name in names if name.endswith(".py")}
    assert packages == {"attention_core", "attention_viz"}
    assert "Requires-Dist: numpy" in metadata
    for extra, package in (("viz", "plotly"), ("viz", "pandas"), ("models", "tokenizers")):
        assert re.search(rf"Requires-Dist: {package}\S*.*extra == \"{extra}\"", metadata), (extra, package)
    # Installed apart from the repository, the example notebook runs against the installed copy.
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    done = subprocess.run(
        [sys.executable, str(REPO / "docs" / "notebook.py"), str(tmp_path / "from_notebook.html")],
        capture_output=True, text=True, cwd=tmp_path, check=False,
        env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert str(target) in done.stdout  # the installed attention_viz, not the repository's
    assert (tmp_path / "from_notebook.html").stat().st_size > 1_000_000


def test_a_minilm_lesson_shows_the_layer_and_head_chosen(tmp_path):
    output = tmp_path / "minilm.html"
    done = run_command(
        "the cat sat", "--model", "MiniLM", "--layer", "3", "--head", "5", "--query", "cat", "-o", str(output)
    )
    assert done.returncode == 0, done.stderr
    document = output.read_text(encoding="utf-8")
    assert "all-MiniLM-L6-v2 · layer 3, head 5 of 12" in document
    assert "5 word pieces" in document  # [CLS] the cat sat [SEP]
    assert "Row <strong>cat</strong>" in document
    bad = run_command("the cat sat", "--model", "MiniLM", "--layer", "6", "-o", str(tmp_path / "no.html"))
    assert bad.returncode == 2 and "Layer must be from 0 to 5; got 6." in bad.stderr  # the model's own size
