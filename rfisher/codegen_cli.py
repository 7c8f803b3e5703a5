"""``rfisher codegen``: write, check or extend ``rfisher/generated/``."""

from __future__ import annotations

import difflib
import sys
from pathlib import Path

GENERATED_DIR = Path(__file__).resolve().parent / "generated"


def _generate(sizes):
    from derivations import codegen

    return codegen.generate(sizes)


class SympyMismatch(RuntimeError):
    """The installed SymPy is not the one whose printers produced rfisher/generated/."""


def check(folder: Path = GENERATED_DIR, sizes=None, out=sys.stdout) -> list[str]:
    """Names of files in ``folder`` that differ from a fresh generation (missing, stale, edited).

    Raises SympyMismatch under another SymPy than ``derivations.codegen.CODEGEN_SYMPY``: its printers
    may print the same mathematics differently, so a byte comparison would say nothing."""
    import sympy

    from derivations import codegen

    if sympy.__version__ != codegen.CODEGEN_SYMPY:
        raise SympyMismatch(f"the check needs SymPy {codegen.CODEGEN_SYMPY} (pinned in .ci/constraints.txt), "
                            f"this is SymPy {sympy.__version__}")
    sizes = codegen.DEFAULT_SIZES if sizes is None else sizes
    bad = []
    expected = _generate(sizes)
    for name, text in sorted(expected.items()):
        path = folder / name
        if not path.exists():
            print(f"missing: {path}", file=out)
            bad.append(name)
            continue
        current = path.read_text()
        if current != text:
            diff = list(difflib.unified_diff(text.splitlines(), current.splitlines(), "generated", "on disk", lineterm="", n=1))
            print(f"stale or hand-edited: {path} ({len(diff)} diff lines; first ones below)", file=out)
            for line in diff[:8]:
                print("    " + line, file=out)
            bad.append(name)
    for path in sorted(folder.glob("*.py")):
        if path.name not in expected:
            print(f"unexpected file (not produced by the generator): {path}", file=out)
            bad.append(path.name)
    return bad


def write(folder: Path, sizes, out=sys.stdout, index: bool = True, prune: bool = False) -> list[Path]:
    """Write the generated files for ``sizes``; with ``prune``, delete other ``*.py`` files there."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    files = _generate(sizes)
    for name, text in sorted(files.items()):
        if name == "__init__.py" and not index:
            continue
        path = folder / name
        if path.exists() and path.read_text() == text:
            continue
        path.write_text(text)
        written.append(path)
        print(f"wrote {path}", file=out)
    if prune:
        for path in sorted(folder.glob("*.py")):
            if path.name not in files:
                path.unlink()
                print(f"removed {path}", file=out)
    return written


def main(args) -> int:
    from derivations import codegen

    extra = [args.components, args.teacher, args.dim]
    if any(v is not None for v in extra):
        K, J, d = (1 if v is None else v for v in extra)
        for name, v in (("--components", K), ("--teacher", J), ("--dim", d)):
            if v < 1:
                print(f"rfisher codegen: {name} must be ≥ 1, got {v}", file=sys.stderr)
                return 2
        folder = Path(args.out) if args.out else GENERATED_DIR
        if folder == GENERATED_DIR:
            print("rfisher codegen: a size outside the shipped set needs --out DIR "
                  "(rfisher/generated/ holds exactly the shipped sizes; other sizes are also generated "
                  "on demand into the cache)", file=sys.stderr)
            return 2
        write(folder, [(K, J, d)], index=False)
        return 0
    if args.check:
        try:
            bad = check()
        except SympyMismatch as exc:
            print(f"rfisher codegen --check: {exc}", file=sys.stderr)
            return 2
        if bad:
            print(f"rfisher codegen --check: {len(bad)} generated file(s) out of date: {', '.join(bad)}\n"
                  "run `rfisher codegen --update` to regenerate", file=sys.stderr)
            return 1
        print(f"rfisher codegen --check: {len(codegen.generate())} generated files are up to date")
        return 0
    folder = Path(args.out) if args.out else GENERATED_DIR
    written = write(folder, codegen.DEFAULT_SIZES, prune=folder == GENERATED_DIR)
    print(f"rfisher codegen: {len(written)} file(s) written to {folder}")
    return 0
