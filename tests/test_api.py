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
