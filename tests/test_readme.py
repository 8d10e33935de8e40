"""Every snippet in README.md runs: the python blocks as they are, the `fastnn` command lines
against small files made here (and the course's cat files when present)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import CAT_DIR

README = Path(__file__).resolve().parents[1] / "README.md"
pytestmark = pytest.mark.skipif(not README.exists(), reason="README.md is not beside the tests")


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_snippets():
    assert len(blocks("python")) >= 4 and len(blocks("bash")) >= 3


@pytest.mark.parametrize("index", range(len(blocks("python"))) if README.exists() else [])
def test_python_snippet_runs(index, tmp_path, monkeypatch):
    code = blocks("python")[index]
    if "sklearn" in code or "scikit-learn" in code:  # a snippet that says it needs it
        pytest.importorskip("sklearn", reason="the snippet uses scikit-learn")
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "__readme__"})


def cli_lines() -> list[str]:
    lines = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = line.split("#")[0].strip()
            if line.startswith("fastnn "):
                lines.append(line)
    return lines


@pytest.mark.parametrize("line", cli_lines() if README.exists() else [])
def test_cli_line_runs(line, tmp_path):
    argv = shlex.split(line)
    if any(a.endswith("catvnoncat.h5") for a in argv) or "cat.npz" in argv:
        if not (CAT_DIR / "train_catvnoncat.h5").exists():
            pytest.skip(f"cat dataset not found at {CAT_DIR}")
        for name in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
            (tmp_path / name).symlink_to(CAT_DIR / name)
        if "predict" in argv:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "fastnn",
                    "train",
                    "train_catvnoncat.h5",
                    "--save",
                    "cat.npz",
                    "-q",
                ],
                cwd=tmp_path,
                check=True,
                capture_output=True,
            )
    if "--plot" in argv:
        pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    rng = np.random.default_rng(0)
    features = rng.standard_normal((60, 3))
    labels = (features[:, 0] - features[:, 1] > 0).astype(int)
    rows = ["a,b,c,y"] + [
        f"{x[0]},{x[1]},{x[2]},{t}" for x, t in zip(features, labels, strict=True)
    ]
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    # three classes by name, with an id column: "setosa" / "versicolor" / "virginica"
    names = np.array(["setosa", "versicolor", "virginica"])[
        (features[:, 0] > 0).astype(int) + (features[:, 1] > 0)
    ]
    rows = ["id,a,b,c,species"] + [
        f"r{i},{x[0]},{x[1]},{x[2]},{n}"
        for i, (x, n) in enumerate(zip(features, names, strict=True))
    ]
    (tmp_path / "species.csv").write_text("\n".join(rows) + "\n")
    if "predict" in argv and "species.npz" in argv:
        train = [
            "train",
            "species.csv",
            "--label",
            "species",
            "--id",
            "id",
            "--save",
            "species.npz",
        ]
        subprocess.run([sys.executable, "-m", "fastnn", *train, "-q"], cwd=tmp_path, check=True,
                       capture_output=True)  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "fastnn", *argv[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
