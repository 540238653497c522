"""attention_core depends on NumPy and the standard library only (the model loaders excepted, when loading)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "attention_core"
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "attention_core"}
LOADERS = ("pretrained.py", "llm.py")  # read real model files with safetensors, gguf and tokenizers


def imported_top_level_names(
    path, nodes=ast.walk
):  # ast.walk: every import; ast.iter_child_nodes: the module's
    for node in nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:  # level > 0: relative, inside the package
            yield node.module.split(".")[0]


def test_modules_import_only_numpy_and_the_standard_library():
    modules = sorted(path for path in PACKAGE.rglob("*.py") if path.name not in LOADERS)
    assert {"__init__.py", "attention.py", "tokens.py", "base.py", "encoder.py"} <= {
        path.name for path in modules
    }
    for path in modules:
        outside = set(imported_top_level_names(path)) - ALLOWED
        assert not outside, f"{path.name} imports {sorted(outside)}"


def test_loaders_import_their_readers_only_when_loading():
    for name in LOADERS:
        outside = set(imported_top_level_names(PACKAGE / name, ast.iter_child_nodes)) - ALLOWED
        assert not outside, f"{name} imports {sorted(outside)} when it is imported"


@pytest.mark.parametrize(
    "loader, readers", [("pretrained", "'safetensors', 'tokenizers'"), ("llm", "'gguf', 'tokenizers'")]
)
def test_importing_the_package_loads_no_model_reader(loader, readers):
    loaded = f"{{'attention_core.{loader}', {readers}}} & set(sys.modules)"
    code = f"import sys, attention_core; print(sorted({loaded}))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_using_the_package_loads_no_ui_library():
    # A fresh interpreter: this one has likely imported streamlit/pandas for other tests.
    code = """
import sys
import attention_core as ac

trace = ac.run_attention("the cat sat", ac.AttentionConfig(causal=True))
ac.score_terms(trace, 0, 0, 0), ac.softmax_terms(trace, 0, 1), ac.output_terms(trace, 0, 2)
ac.scaling_experiment(d_ks=(1, 4), n=4, samples=2)
print(sorted({name.split(".")[0] for name in sys.modules} & {"streamlit", "plotly", "pandas"}))
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
