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
