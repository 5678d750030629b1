"""The lint and type checks of tox (``tox -e lint``, ``tox -e type``) run in the
suite too, so ``make test`` -- what CI runs -- cannot pass while they fail."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _run(*args):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=900)


def test_ruff_is_clean():
    res = _run("ruff", "check", "polyrelu", "tests", "benchmarks", "examples")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]


@pytest.mark.slow
def test_mypy_is_clean():
    res = _run("mypy")   # configuration: setup.cfg [mypy]
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
