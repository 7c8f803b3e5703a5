"""Generated code: up to date, deterministic, and numerically equal to SymPy and to generic numpy."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from derivations import codegen, fisher
from derivations.symbols import MixtureSymbols
from rfisher import codegen_cli, generated_modules, generic
from tests import strategies as S
from tests.tolerances import POINTWISE_RTOL

ROOT = Path(__file__).resolve().parents[1]


def test_checked_in_code_is_up_to_date():
    """`rfisher codegen --check`: the checked-in files are exactly what the generator writes."""
    proc = subprocess.run([sys.executable, "-m", "rfisher.cli", "codegen", "--check"], cwd=ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_names_a_hand_edited_file(tmp_path):
    codegen_cli.write(tmp_path, [(2, 1, 1)], out=open(os.devnull, "w"))
    path = tmp_path / "mixture_k2_j1_d1.py"
    path.write_text(path.read_text().replace("o0 = ", "o0 = 1.0 + ", 1))
    lines = []

    class Out:
        def write(self, s):
            lines.append(s)

    bad = codegen_cli.check(tmp_path, sizes=[(2, 1, 1)], out=Out())
    assert bad == ["mixture_k2_j1_d1.py"]
    assert "hand-edited" in "".join(lines)


def test_generation_is_deterministic_across_processes(tmp_path):
    """Byte-identical output under different hash seeds (set iteration order)."""
    texts = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        code = "from derivations import codegen; print(codegen.mixture_module(3, 2, 2), end='')"
        texts.append(subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                                    text=True, check=True).stdout)
    assert texts[0] == texts[1]
    assert texts[0] == (ROOT / "rfisher/generated/mixture_k3_j2_d2.py").read_text()


def test_banner_states_source_version_and_hash():
    text = (ROOT / "rfisher/generated/mixture_k2_j1_d1.py").read_text()
    assert "DO NOT EDIT" in text.splitlines()[0]
    assert f"SymPy {sp.__version__}" in text
    assert codegen.source_hash() in text


def _lambdified(K, J, d, which):
    ms = MixtureSymbols(K, J, d)
    grads = fisher.reverse_gradient_integrand(ms) if which == "reverse" else fisher.forward_gradient_integrand(ms)
    outs = [fisher.fisher_integrand(ms)] + [c for g in grads for c in g]
    from derivations.scores import responsibilities_from_definition

    r = responsibilities_from_definition(ms.x, ms.mu, ms.w)
    rho = responsibilities_from_definition(ms.x, ms.nu, ms.pi)
    subs = {**dict(zip(ms.r, r)), **dict(zip(ms.rho, rho))}
    exprs = [sp.sympify(o).xreplace(subs) for o in outs]
    args = [*ms.x, *[c for m in ms.mu for c in m], *ms.w, *[c for m in ms.nu for c in m], *ms.pi]
    return sp.lambdify(args, exprs, modules="mpmath")


@pytest.mark.parametrize("K,J,d", [(2, 1, 1), (3, 2, 1), (2, 2, 2), (3, 1, 2)])
@pytest.mark.parametrize("which", ["forward", "reverse"])
@given(data=st.data())
def test_generated_equals_sympy_expression(K, J, d, which, data):
    """The generated numpy integrand equals the SymPy expression (responsibilities from their
    definition, evaluated by mpmath at 30 digits) at hypothesis-drawn points."""
    import mpmath

    student_means = data.draw(S.points(d, K, 4.0))
    teacher_means = data.draw(S.points(d, J, 4.0))
    w = data.draw(S.weights(K))
    p = data.draw(S.weights(J, 0.05))
    x = data.draw(S.points(d, 1, 6.0))[0]
    mod = generated_modules.load(K, J, d)
    got = getattr(mod, f"{which}_integrand")(x, student_means, w, teacher_means, p)
    f = _lambdified(K, J, d, which)
    with mpmath.workdps(30):
        ref = np.array([float(v) for v in f(*x, *student_means.ravel(), *w, *teacher_means.ravel(), *p)])
    scale = 1 + np.max(np.abs(ref)) + np.max(np.abs(student_means)) ** 3
    assert np.all(np.abs(got - ref) <= POINTWISE_RTOL * scale), (got, ref)


@pytest.mark.parametrize("K,J,d", [(1, 1, 1), (2, 1, 1), (3, 3, 1), (2, 3, 2), (3, 2, 2), (3, 3, 2)])
@given(data=st.data())
def test_generated_equals_generic_numpy(K, J, d, data):
    """Generated and generic numpy agree to 1e−12 on batches of points, far ones included."""
    mu = data.draw(S.points(d, K, 50.0))
    nu = data.draw(S.points(d, J, 50.0))
    w = data.draw(S.weights(K))
    p = data.draw(S.weights(J, 0.05))
    x = data.draw(S.points(d, 7, 60.0))
    mod = generated_modules.load(K, J, d)
    for which in ("forward", "reverse"):
        a = getattr(mod, f"{which}_integrand")(x, mu, w, nu, p)
        b = getattr(generic, f"{which}_integrand")(x, mu, w, nu, p)
        scale = (1 + np.abs(x).max() + np.abs(mu).max() + np.abs(nu).max()) ** 3
        assert np.all(np.abs(a - b) <= POINTWISE_RTOL * scale)
    np.testing.assert_allclose(mod.responsibilities(x, mu, w), generic.responsibilities(x, mu, w),
                               rtol=0, atol=1e-14)


def test_generated_broadcasts_over_batches():
    """x (B, N, d) against means (B, 1, K, d): one call for a batch of parameter sets."""
    rng = np.random.default_rng(0)
    mod = generated_modules.load(3, 1, 2)
    x = rng.normal(size=(4, 5, 2))
    mu = rng.normal(size=(4, 1, 3, 2))
    w = np.array([0.2, 0.3, 0.5])
    nu, p = np.zeros((1, 2)), np.ones(1)
    batch = mod.reverse_integrand(x, mu, w, nu, p)
    assert batch.shape == (4, 5, 7)
    for b in range(4):
        np.testing.assert_array_equal(batch[b], mod.reverse_integrand(x[b], mu[b, 0], w, nu, p))


def test_on_demand_generation_for_an_unshipped_size(tmp_path, monkeypatch):
    """A size outside rfisher/generated/ is generated into the cache and agrees with generic."""
    monkeypatch.setenv("RFISHER_CACHE", str(tmp_path))
    generated_modules.load.cache_clear()
    try:
        assert (5, 1, 2) not in generated_modules.shipped_sizes()
        mod = generated_modules.load(5, 1, 2)
        assert Path(mod.__file__).parent.parent == tmp_path
        rng = np.random.default_rng(1)
        x, mu, nu = rng.normal(size=(6, 2)), rng.normal(size=(5, 2)) * 3, rng.normal(size=(1, 2))
        w = np.full(5, 0.2)
        np.testing.assert_allclose(mod.reverse_integrand(x, mu, w, nu, np.ones(1)),
                                   generic.reverse_integrand(x, mu, w, nu, np.ones(1)), rtol=1e-12, atol=1e-12)
    finally:
        generated_modules.load.cache_clear()


def test_cli_writes_an_extra_size(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "rfisher.cli", "codegen", "--components", "5", "--dim", "3",
                           "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "mixture_k5_j1_d3.py").read_text() == codegen.mixture_module(5, 1, 3)
    assert (tmp_path / "lyapunov_k5_d3.py").read_text() == codegen.lyapunov_module(5, 3)
