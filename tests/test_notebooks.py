"""Every notebook in notebooks/ executes without error (nbclient, in-process kernel of this venv);
a notebook with a deliberately wrong step fails."""

from pathlib import Path

import jupytext
import nbclient
import pytest
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))


def _execute(nb, timeout=240):
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return nb


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path):
    nb = jupytext.read(path)
    first = "".join(nb.cells[0].source) if nb.cells else ""
    assert nb.cells[0].cell_type == "markdown" and "Checks" in first, "a notebook starts by saying what it checks"
    assert "Summary" in "".join(c.source for c in nb.cells[-2:]), "a notebook ends with a summary"
    _execute(nb)


def test_a_wrong_step_fails():
    """Replace the reverse gradient's closed form by the forward one: the notebook must fail."""
    text = (ROOT / "notebooks" / "02_fisher_gradients.py").read_text()
    broken = text.replace("    rhs = fisher.reverse_gradient_integrand(ms)", "    rhs = fisher.forward_gradient_integrand(ms)")
    assert broken != text
    nb = jupytext.reads(broken, fmt="py:percent")
    with pytest.raises(CellExecutionError):
        _execute(nb)
