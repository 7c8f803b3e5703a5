"""The README's example runs as written and prints what it says (the docs show no untested output)."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_blocks(tag):
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```python {tag}\n(.*?)```", text, flags=re.S)


def test_readme_api_example_runs_and_matches_its_comments():
    blocks = _readme_blocks("api")
    assert blocks, "README has no ```python api block"
    proc = subprocess.run([sys.executable, "-c", blocks[0]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    # the values the README quotes in its comments
    assert "R = 4.72561036483704" in out
    assert "grad R = [[3.18413674391718], [-1.18413674391718]]" in out
    assert "converged: True" in out


def test_cli_demo():
    proc = subprocess.run([sys.executable, "-m", "rfisher.cli", "demo"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "reverse R = 4.72561036483704" in proc.stdout


def test_readme_gradient_descent_example_runs():
    blocks = _readme_blocks("gd")
    assert blocks
    proc = subprocess.run([sys.executable, "-c", blocks[0]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "True 0" in proc.stdout


def test_readme_certified_example_runs():
    blocks = _readme_blocks("certified")
    assert blocks
    proc = subprocess.run([sys.executable, "-c", blocks[0]], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "[4.72561036483704474390478527276 +/- 4.35e-30]" in proc.stdout
    assert "certified increase / certified decrease" in proc.stdout
    assert proc.stdout.strip().endswith("10")


def test_import_needs_no_optional_library():
    """``import rfisher`` and F, R of a mixture load neither matplotlib nor hypothesis nor Dask (dependencies
    by need: they come with the report and sweep extras). gmpy2 and python-flint are optional backends that
    mpmath and SymPy load by themselves when installed; nothing of ours requires them here."""
    import subprocess
    import sys

    code = ("import sys; from rfisher import GaussianMixture, reverse_fisher, forward_fisher; "
            "s = GaussianMixture([[3.0], [-1.0]], [0.5, 0.5]); t = GaussianMixture.single([0.0]); "
            "reverse_fisher(s, t); forward_fisher(s, t); "
            "print(sorted(m for m in ('matplotlib', 'hypothesis', 'dask', 'distributed') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
