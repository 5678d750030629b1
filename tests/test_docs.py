"""The documentation site builds without warnings (as `tox -e docs`)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"


@pytest.mark.slow
def test_docs_build_without_warnings(tmp_path):
    if not shutil.which("sphinx-build") and not (Path(sys.executable).parent / "sphinx-build").exists():
        pytest.fail("sphinx is part of the dev extra and must be installed")
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b",
                          "html", str(DOCS), str(tmp_path / "html")],
                         capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert (tmp_path / "html" / "index.html").exists()
