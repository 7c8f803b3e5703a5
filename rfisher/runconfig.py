"""``rfisher run``: one GD configuration from flags or a TOML/JSON file.

Fields (a file uses the same names; flags override the file):

    student_means     K × d list, or omit and give init = "random" with n, radius, K
    student_weights   K numbers summing to 1 (default uniform)
    teacher_means     J × d list (required)
    teacher_weights   J numbers (default uniform)
    objective         "reverse" (default) or "forward"
    step_size         η > 0 (required)
    steps             number of GD steps (required)
    init              "given" (default) or "random"; with "random": n, radius, K, seed
    record_every      stride of the recorded summary (default: steps // 20)
    monitors          list of "V_w", "V_max", "V_bar", "R"
    rtol              quadrature tolerance (default 1e-10)

A bad file or field raises ``ConfigError`` naming the field.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import numpy as np

FIELDS = {"student_means", "student_weights", "teacher_means", "teacher_weights", "objective", "step_size", "steps",
          "init", "n", "radius", "K", "seed", "record_every", "monitors", "rtol"}


class ConfigError(ValueError):
    pass


def load_file(path: str) -> dict:
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"config file {path!r} does not exist")
    text = p.read_text()
    try:
        data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config file {path!r} is not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path!r} must hold a table/object of fields")
    return data


def _field(cfg, name, kind, required=False, default=None):
    if name not in cfg or cfg[name] is None:
        if required:
            raise ConfigError(f"field {name!r} is required")
        return default
    v = cfg[name]
    try:
        if kind == "matrix":
            arr = np.array(v, dtype=float)
            if arr.ndim != 2:
                raise ConfigError(f"field {name!r} must be a list of lists (one row per component), got {v!r}")
            return arr
        if kind == "vector":
            arr = np.array(v, dtype=float)
            if arr.ndim != 1:
                raise ConfigError(f"field {name!r} must be a list of numbers, got {v!r}")
            return arr
        if kind == "float":
            return float(v)
        if kind == "int":
            if isinstance(v, bool) or float(v) != int(v):
                raise ConfigError(f"field {name!r} must be an integer, got {v!r}")
            return int(v)
        if kind == "str":
            if not isinstance(v, str):
                raise ConfigError(f"field {name!r} must be a string, got {v!r}")
            return v
        if kind == "strlist":
            if isinstance(v, str):
                v = [s.strip() for s in v.split(",") if s.strip()]
            if not all(isinstance(s, str) for s in v):
                raise ConfigError(f"field {name!r} must be a list of names, got {v!r}")
            return list(v)
    except (TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        raise ConfigError(f"field {name!r}: cannot read {v!r} as {kind}") from exc
    raise AssertionError(kind)


def run_config(cfg: dict, stream) -> dict:
    """Validate ``cfg``, run GD, print a summary; returns the summary (JSON-ready)."""
    from rfisher import GaussianMixture
    from rfisher.descent import gradient_descent, random_initializations

    unknown = set(cfg) - FIELDS
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)}; known fields: {sorted(FIELDS)}")
    teacher_means = _field(cfg, "teacher_means", "matrix", required=True)
    try:
        teacher = GaussianMixture(teacher_means, _field(cfg, "teacher_weights", "vector"))
    except ValueError as exc:
        raise ConfigError(f"field 'teacher_means'/'teacher_weights': {exc}") from exc
    init = _field(cfg, "init", "str", default="given")
    if init not in ("given", "random"):
        raise ConfigError(f"field 'init' must be 'given' or 'random', got {init!r}")
    if init == "given":
        means = _field(cfg, "student_means", "matrix", required=True)
        starts = means[None]
    else:
        K = _field(cfg, "K", "int", required=True)
        n = _field(cfg, "n", "int", default=1)
        radius = _field(cfg, "radius", "float", default=5.0)
        if K < 1 or n < 1 or not radius > 0:
            raise ConfigError("fields 'K', 'n' must be ≥ 1 and 'radius' > 0")
        starts = random_initializations(_field(cfg, "seed", "int", default=0), n, K, teacher.d, radius,
                                        target=teacher.mean)
    weights = _field(cfg, "student_weights", "vector")
    steps = _field(cfg, "steps", "int", required=True)
    try:
        tr = gradient_descent(starts, weights, teacher, step_size=_field(cfg, "step_size", "float", required=True),
                              max_steps=steps, objective=_field(cfg, "objective", "str", default="reverse"),
                              record_every=_field(cfg, "record_every", "int", default=max(1, steps // 20)),
                              monitors=_field(cfg, "monitors", "strlist", default=[]),
                              rtol=_field(cfg, "rtol", "float", default=1e-10), record_means=True)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    summary = {"objective": tr.objective, "step_size": tr.step_size, "steps": tr.steps.tolist(), "status": tr.status.tolist(),
               "initial_means": tr.initial_means.tolist(), "final_means": tr.final_means.tolist(),
               "final_value": tr.values[-1].tolist(), "final_value_error": tr.value_errors[-1].tolist(),
               "record_steps": tr.record_steps.tolist(), "values": tr.values.tolist(),
               "max_increase": {k: v.tolist() for k, v in tr.max_increase.items()},
               "n_increases": {k: v.tolist() for k, v in tr.n_increases.items()}, "seconds": tr.seconds}
    for b in range(len(tr.steps)):
        print(f"trajectory {b}: {tr.status[b]} after {tr.steps[b]} steps; {tr.objective} = {tr.values[-1, b]:.6g} "
              f"± {tr.value_errors[-1, b]:.1e}; final means {np.round(tr.final_means[b], 6).tolist()}", file=stream)
        for k in tr.max_increase:
            print(f"    {k}: largest one-step change {tr.max_increase[k][b]:.3e}, increases {tr.n_increases[k][b]}",
                  file=stream)
    return summary
