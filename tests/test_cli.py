"""`rfisher run` from flags and files, with clear errors for bad configurations; `rfisher sweep`."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rfisher import cli

ROOT = Path(__file__).resolve().parents[1]


def test_run_from_flags(tmp_path, capsys):
    out = tmp_path / "traj.json"
    code = cli.main(["run", "--student-means", "[[3],[-1]]", "--teacher-means", "[[0]]", "--step-size", "0.2",
                     "--steps", "2000", "--monitors", "V_w,R", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert data["status"] == ["max_steps"]
    assert abs(abs(data["final_means"][0][0][0]) - 0.025) < 2e-4
    assert "trajectory 0: max_steps after 2000 steps" in capsys.readouterr().out


def test_run_from_toml(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text('teacher_means = [[0.0], [8.0]]\nobjective = "forward"\nstep_size = 0.2\nsteps = 50\n'
                   'init = "random"\nK = 2\nn = 3\nradius = 4.0\nseed = 1\n')
    assert cli.main(["run", "--config", str(cfg)]) == 0
    assert capsys.readouterr().out.count("trajectory") == 3


@pytest.mark.parametrize(
    "content,suffix,message",
    [
        ('{"teacher_means": [[0]], "student_means": [[1]], "steps": 5}', ".json", "field 'step_size' is required"),
        ('{"teacher_means": [[0]], "steps": 5, "step_size": 0.1}', ".json", "field 'student_means' is required"),
        ('{"teacher_means": [[0]], "student_means": [[1]], "step_size": 0.1, "steps": 2.5}', ".json",
         "field 'steps' must be an integer"),
        ('{"teacher_means": [0], "student_means": [[1]], "step_size": 0.1, "steps": 2}', ".json",
         "field 'teacher_means' must be a list of lists"),
        ('{"teacher_means": [[0]], "teacher_weights": [0.3], "student_means": [[1]], "step_size": 0.1, "steps": 2}',
         ".json", "teacher_weights"),
        ('{"teacher_means": [[0]], "student_means": [[1]], "step_size": 0.1, "steps": 2, "stpes": 3}', ".json",
         "unknown field"),
        ('{"teacher_means": [[0]], "student_means": [[1]], "step_size": -0.1, "steps": 2}', ".json", "step_size"),
        ("teacher_means = [[0.0]\n", ".toml", "not valid TOML"),
    ],
)
def test_bad_configs_name_the_field(tmp_path, capsys, content, suffix, message):
    cfg = tmp_path / f"c{suffix}"
    cfg.write_text(content)
    assert cli.main(["run", "--config", str(cfg)]) == 2
    assert message in capsys.readouterr().err


def test_missing_config_file(capsys):
    assert cli.main(["run", "--config", "/nonexistent.toml"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_sweep_command():
    proc = subprocess.run([sys.executable, "-m", "rfisher.cli", "sweep", "--J", "2", "--separations", "2", "6",
                           "--seeds", "20", "--steps", "300"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "smallest Δ with lower bound > 0.9" in proc.stdout


# --- bad input: exit 2, one line on stderr naming the flag, no traceback (issues 10 and 15) ------------


def _reproducers(tmp: Path):
    """The issue's CLI reproducers: (argv, what the one stderr line must name)."""
    a_file = tmp / "a_file"
    a_file.write_text("{}")
    big = tmp / "big.toml"
    big.write_text("teacher_means = [[0.0]]\nstudent_means = [[1.0]]\nstep_size = 0.1\nsteps = 1e400\n")
    latin1 = tmp / "latin1.toml"
    latin1.write_bytes(b"steps = 3 # caf\xe9\n")
    run = ["run", "--teacher-means", "[[0]]", "--student-means", "[[1],[-1]]", "--step-size", "0.1", "--steps", "2"]
    return [
        (["run", "--seed", "-1", *run[1:]], "--seed"), (["run", "--seed", "1.5", *run[1:]], "--seed"),
        (["report", "--seed", "-1"], "--seed"), (["report", "--seed", "0.5"], "--seed"),
        (["sweep", "--J", "0"], "--J"), (["sweep", "--d", "0"], "--d"), (["sweep", "--separations", "nan"], "--separations"),
        (["sweep", "--separations", "-1"], "--separations"), (["sweep", "--separations", "inf"], "--separations"),
        (["sweep", "--steps", "-1"], "--steps"), (["sweep", "--seeds", "0"], "--seeds"),
        (["report", "--jobs", "0"], "--jobs"), (["report", "--out", str(a_file)], "--out"),
        (["report", "--out", str(a_file / "sub")], "--out"), ([*run, "--out", str(a_file / "x.json")], "--out"),
        ([*run, "--out", str(tmp)], "--out"), (["run", "--config", str(tmp)], "--config"),
        (["run", "--config", str(latin1)], "UTF-8"), (["run", "--config", str(big)], "steps"),
        (["codegen", "--components", "0"], "--components"), (["run", "--rtol", "-1", *run[1:]], "--rtol"),
        (["demo", "--rtol", "0"], "--rtol"),
    ]


def test_bad_input_exits_2_with_one_line(tmp_path):
    """Every reproducer in its own process (as a user runs it), all at once: exit status 2, exactly one
    line on stderr that names the flag or field, no traceback, nothing computed (no stdout)."""
    cases = _reproducers(tmp_path)
    procs = [subprocess.Popen([sys.executable, "-m", "rfisher.cli", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for argv, _ in cases]
    failures = []
    for (argv, name), proc in zip(cases, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        lines = err.strip().splitlines()
        if proc.returncode != 2 or len(lines) != 1 or "Traceback" in err or name not in err or out:
            failures.append(f"{' '.join(argv)}: exit {proc.returncode}, stderr {err!r}, stdout {out[:80]!r}")
    assert not failures, "\n".join(failures)


def test_valid_big_seed_and_help(capsys):
    """A seed numpy accepts (any non-negative integer) is accepted; --help still exits 0."""
    from rfisher import validation

    assert validation.cli_seed("99999999999999999999999") == 99999999999999999999999
    assert cli.main(["demo", "--help"]) == 0
    assert cli.main(["run", "--seed", "-1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_config_errors_before_any_work(tmp_path, capsys):
    """A config with an out-of-range mean or an unknown monitor is refused before GD starts."""
    for extra, message in (("monitors = [\"V_nope\"]\n", "monitors"), ("seed = -1\ninit = \"random\"\nK = 2\n", "seed")):
        cfg = tmp_path / "c.toml"
        cfg.write_text("teacher_means = [[0.0]]\nstudent_means = [[1.0]]\nstep_size = 0.1\nsteps = 2\n" + extra)
        assert cli.main(["run", "--config", str(cfg)]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    cfg = tmp_path / "far.json"
    cfg.write_text('{"teacher_means": [[0.0]], "student_means": [[1e300]], "step_size": 0.1, "steps": 2}')
    assert cli.main(["run", "--config", str(cfg)]) == 2
    assert "out of range" in capsys.readouterr().err
