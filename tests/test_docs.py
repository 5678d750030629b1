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


README = Path(__file__).parent.parent / "README.md"


def test_readme_tour_runs_and_its_comments_are_true(monkeypatch):
    """The README's Python tour runs as printed (from the repository root, where
    its ../shared model path points), and every ``expr  # value`` line whose
    comment starts with a Python value shows what the expression returns."""
    import ast
    import io
    import re
    from contextlib import redirect_stdout
    from fractions import Fraction

    text = README.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, "the README has a Python tour"
    monkeypatch.chdir(README.parent)
    checked = 0
    for block in blocks:
        ns: dict = {}
        lines = block.splitlines()
        for stmt in ast.parse(block).body:
            src = "\n".join(lines[stmt.lineno - 1:stmt.end_lineno])
            _, _, comment = lines[stmt.end_lineno - 1].partition("#")
            want_src = re.split(r"\s{2,}", comment.strip())[0]
            with redirect_stdout(io.StringIO()):
                if isinstance(stmt, ast.Expr) and stmt.lineno == stmt.end_lineno and want_src:
                    try:
                        want = eval(want_src, {"Fraction": Fraction})
                    except (SyntaxError, NameError, TypeError):
                        exec(src, ns)
                        continue
                    assert eval(ast.unparse(stmt.value), ns) == want, src
                    checked += 1
                else:
                    exec(src, ns)
    assert checked >= 2
