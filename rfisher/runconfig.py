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

import numpy as np

from rfisher import validation as V

FIELDS = {"student_means", "student_weights", "teacher_means", "teacher_weights", "objective", "step_size", "steps",
          "init", "n", "radius", "K", "seed", "record_every", "monitors", "rtol"}


class ConfigError(V.InvalidArgument):
    """A bad configuration file or field (an ``InvalidArgument``: the message names the field)."""


def load_file(path: str) -> dict:
    """The fields of a TOML (``.toml``) or JSON file, which must be a readable UTF-8 file holding a table."""
    try:
        p = V.readable_file(path, "config file")
        text = p.read_bytes().decode("utf-8")
    except V.InvalidArgument as exc:
        raise ConfigError(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path!r} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConfigError(f"config file {path!r} cannot be read: {exc.strerror}") from None
    kind = "TOML" if p.suffix == ".toml" else "JSON"
    try:
        data = tomllib.loads(text) if kind == "TOML" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config file {path!r} is not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path!r} must hold a table/object of fields")
    return data


def _matrix(v, name):
    arr = V.real_array(v, name)
    if arr.ndim != 2:
        raise ConfigError(f"{name} must be a list of lists (one row per component), got {V.show(v)}")
    return arr


def _vector(v, name):
    arr = V.real_array(v, name)
    if arr.ndim != 1:
        raise ConfigError(f"{name} must be a list of numbers, got {V.show(v)}")
    return arr


def _strlist(v, name):
    if isinstance(v, str):
        v = [s.strip() for s in v.split(",") if s.strip()]
    if not isinstance(v, list | tuple) or not all(isinstance(s, str) for s in v):
        raise ConfigError(f"{name} must be a list of names, got {V.show(v)}")
    return list(v)


#: How each field is checked (``rfisher.validation``); the name in a message is "field 'name'".
CHECKS = {
    "student_means": _matrix,
    "teacher_means": _matrix,
    "student_weights": _vector,
    "teacher_weights": _vector,
    "objective": lambda v, n: V.choice(v, n, ("reverse", "forward")),
    "init": lambda v, n: V.choice(v, n, ("given", "random")),
    "step_size": V.positive,
    "steps": lambda v, n: V.integer(v, n, minimum=0),
    "n": lambda v, n: V.integer(v, n, minimum=1),
    "K": lambda v, n: V.integer(v, n, minimum=1),
    "radius": V.positive,
    "seed": V.seed,
    "record_every": lambda v, n: V.integer(v, n, minimum=1),
    "monitors": _strlist,
    "rtol": V.rtol,
}


def _field(cfg, name, required=False, default=None):
    if name not in cfg or cfg[name] is None:
        if required:
            raise ConfigError(f"field {name!r} is required")
        return default
    label = f"field {name!r}"
    try:
        value = CHECKS[name](cfg[name], label)
    except V.InvalidArgument as exc:
        raise ConfigError(str(exc)) from None
    return value


def validate(cfg: dict) -> dict:
    """Every field checked and canonical (defaults filled in), before any work; raises ``ConfigError``."""
    if not isinstance(cfg, dict):
        raise ConfigError("a configuration is a table of fields")
    unknown = set(cfg) - FIELDS
    if unknown:
        raise ConfigError(f"unknown field(s) {sorted(unknown)}; known fields: {sorted(FIELDS)}")
    out = {"teacher_means": _field(cfg, "teacher_means", required=True), "teacher_weights": _field(cfg, "teacher_weights"),
           "init": _field(cfg, "init", default="given"), "student_weights": _field(cfg, "student_weights"),
           "steps": _field(cfg, "steps", required=True), "step_size": _field(cfg, "step_size", required=True),
           "objective": _field(cfg, "objective", default="reverse"), "monitors": _field(cfg, "monitors", default=[]),
           "rtol": _field(cfg, "rtol", default=1e-10)}
    if out["init"] == "given":
        out["student_means"] = _field(cfg, "student_means", required=True)
    else:
        out.update(K=_field(cfg, "K", required=True), n=_field(cfg, "n", default=1),
                   radius=_field(cfg, "radius", default=5.0), seed=_field(cfg, "seed", default=0))
    out["record_every"] = _field(cfg, "record_every", default=max(1, out["steps"] // 20))
    known = _monitor_names()
    for m in out["monitors"]:
        if m not in known:
            raise ConfigError(f"field 'monitors': unknown Lyapunov candidate {m!r}; known: {sorted(known)}")
    return out


def _monitor_names() -> set[str]:
    from derivations import lyapunov
    from rfisher.lyapunov import OBJECTIVE

    return {c.name for c in lyapunov.BUILTIN} | {OBJECTIVE}


def run_config(cfg: dict, stream) -> dict:
    """Validate ``cfg``, run GD, print a summary; returns the summary (JSON-ready)."""
    from rfisher import GaussianMixture
    from rfisher.descent import gradient_descent, random_initializations
    from rfisher.mixture import as_batch

    c = validate(cfg)
    try:
        teacher = GaussianMixture(c["teacher_means"], c["teacher_weights"])
    except V.InvalidArgument as exc:
        raise ConfigError(f"field 'teacher_means'/'teacher_weights': {exc}") from None
    try:
        if c["init"] == "given":
            starts = c["student_means"][None]
        else:
            starts = random_initializations(c["seed"], c["n"], c["K"], teacher.d, c["radius"], target=teacher.mean)
        # everything gradient_descent would refuse, refused before it starts
        as_batch(starts, c["student_weights"], teacher.means, teacher.weights,
                 ("student_means", "student_weights", "teacher_means", "teacher_weights"))
        V.distances_in_range(starts, np.broadcast_to(teacher.means, (len(starts), *teacher.means.shape)),
                             "student/teacher means")
        tr = gradient_descent(starts, c["student_weights"], teacher, step_size=c["step_size"], max_steps=c["steps"],
                              objective=c["objective"], record_every=c["record_every"], monitors=c["monitors"],
                              rtol=c["rtol"], record_means=True)
    except V.InvalidArgument as exc:
        raise ConfigError(str(exc)) from None
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
