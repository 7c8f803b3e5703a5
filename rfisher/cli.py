"""The ``rfisher`` command line.

Every flag, path and configuration field is checked before any work starts (``rfisher.validation``:
argparse ``type=`` functions, then the ``--out`` paths and the run configuration): bad input ends
with exit status 2 and one line on stderr that names the flag, never a traceback. Errors that are not
argument errors (bugs) are not caught.
"""

from __future__ import annotations

import argparse
import sys

from rfisher import validation as V


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``prog: error: message``) and exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


def _demo(args) -> int:
    import numpy as np

    from rfisher import GaussianMixture, forward_fisher, reverse_fisher

    student = GaussianMixture([[3.0], [-1.0]], [0.5, 0.5])
    teacher = GaussianMixture.single([0.0])
    print("student:", student)
    print("teacher:", teacher)
    for name, fn in (("reverse R", reverse_fisher), ("forward F", forward_fisher)):
        res = fn(student, teacher, rtol=args.rtol)
        np.set_printoptions(precision=15)
        print(f"{name} = {res.value!r:<22} (error ≤ {res.value_error:.1e}, {res.nodes} nodes)")
        print(f"  gradient = {res.gradient.ravel().tolist()}  (error ≤ {res.gradient_error.max():.1e})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rfisher", description="Verify the reverse-Fisher score-matching claims.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("codegen", help="generate rfisher/generated/ from derivations/ (or check it)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--check", action="store_true", help="exit 1, naming the files, if generated code is stale or edited")
    g.add_argument("--update", action="store_true", help="regenerate rfisher/generated/ (the default action)")
    p.add_argument("--components", "-K", type=V.cli_int(1), help="student components K of an extra size (with --out)")
    p.add_argument("--teacher", "-J", type=V.cli_int(1), help="teacher components J of an extra size (with --out)")
    p.add_argument("--dim", "-d", type=V.cli_int(1), help="dimension d of an extra size (with --out)")
    p.add_argument("--out", type=V.cli_writable_dir, help="folder to write into (default: rfisher/generated/)")

    p = sub.add_parser("demo", help="F, R and their gradients with error estimates for the example of docs/theory.md, I9")
    p.add_argument("--rtol", type=V.cli_rtol, default=1e-12, help="relative tolerance in [1e-15, 1) (default 1e-12)")

    p = sub.add_parser("report", help="check every claim of the paper; write report.md/.html, figures, results.json")
    p.add_argument("--quick", action="store_true", help="small runs (about a minute once compiled)")
    p.add_argument("--out", type=V.cli_writable_dir, default="rfisher-report",
                   help="output folder (default: rfisher-report)")
    p.add_argument("--seed", type=V.cli_seed, default=0, help="a non-negative integer (default 0)")
    p.add_argument("--jobs", type=V.cli_int(1), default=2,
                   help="worker processes (default 2: the claims that share C1's runs on one, the rest on the other)")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run the claim groups as tasks on the Dask cluster at ADDRESS (needs the sweep extra)")

    p = sub.add_parser("run", help="run GD for one configuration (flags or a TOML/JSON file)")
    p.add_argument("--config", type=V.cli_readable_file, help="TOML or JSON file with the fields below")
    for name, help_ in (("student-means", "K×d list, e.g. '[[3],[-1]]'"), ("student-weights", "list"),
                        ("teacher-means", "J×d list"), ("teacher-weights", "list"), ("monitors", "e.g. V_w,R")):
        p.add_argument(f"--{name}", help=help_)
    p.add_argument("--objective", choices=["reverse", "forward"])
    p.add_argument("--step-size", type=V.cli_positive_float)
    p.add_argument("--steps", type=V.cli_int(0))
    p.add_argument("--init", choices=["given", "random"])
    p.add_argument("--n", type=V.cli_int(1))
    p.add_argument("--K", type=V.cli_int(1))
    p.add_argument("--radius", type=V.cli_positive_float)
    p.add_argument("--seed", type=V.cli_seed)
    p.add_argument("--record-every", type=V.cli_int(1))
    p.add_argument("--rtol", type=V.cli_rtol)
    p.add_argument("--out", type=V.cli_writable_file, help="save the trajectory summary as JSON")

    p = sub.add_parser("sweep", help="C3 separation sweep on Dask: success fraction vs Δ with Wilson intervals")
    from rfisher import sweep

    sweep.add_arguments(p)
    return parser


def _run(args) -> int:
    import json

    from rfisher import runconfig

    try:
        cfg = runconfig.load_file(str(args.config)) if args.config else {}
        for flag in ("student_means", "student_weights", "teacher_means", "teacher_weights"):
            v = getattr(args, flag)
            if v is not None:
                try:
                    cfg[flag] = json.loads(v)
                except json.JSONDecodeError as exc:
                    raise runconfig.ConfigError(f"--{flag.replace('_', '-')} is not a JSON list: {v!r}") from exc
        for flag in ("objective", "step_size", "steps", "init", "n", "K", "radius", "seed", "record_every", "rtol", "monitors"):
            v = getattr(args, flag)
            if v is not None:
                cfg[flag] = v
        summary = runconfig.run_config(cfg, sys.stdout)
    except runconfig.ConfigError as exc:
        print(f"rfisher run: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(summary, fh, indent=1)
        print(f"wrote {args.out}")
    return 0


def main(argv=None) -> int:
    """Run the command line; returns the exit status (2 for bad input, also from argparse)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a bad flag (2, its one line already printed)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return _dispatch(args)
    except V.InvalidArgument as exc:  # an argument error found past argparse: one line, exit 2 (bugs propagate)
        print(f"rfisher {args.command}: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2


def _dispatch(args) -> int:
    if args.command == "codegen":
        from rfisher import codegen_cli

        return codegen_cli.main(args)
    if args.command == "demo":
        return _demo(args)
    if args.command == "report":
        from pathlib import Path

        from rfisher import report

        return report.run(Path(args.out), args.quick, args.seed, jobs=args.jobs, scheduler=args.scheduler)
    if args.command == "run":
        return _run(args)
    if args.command == "sweep":
        from rfisher import sweep

        return sweep.main(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
