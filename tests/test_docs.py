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


def _run_block(block: str) -> int:
    """Run a Python code block statement by statement; an ``expr  # value``
    line whose comment starts with a Python value must show that value.
    Returns how many such comments were checked."""
    import ast
    import io
    import re
    from contextlib import redirect_stdout
    from fractions import Fraction

    ns: dict = {}
    lines = block.splitlines()
    checked = 0
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
                got = eval(ast.unparse(stmt.value), ns)
                # a list shown for a view (networkx edges, dict keys) compares by items
                same = got == want or (isinstance(want, list) and not isinstance(got, str)
                                       and hasattr(got, "__iter__") and list(got) == want)
                assert same, f"{src}: got {got!r}"
                checked += 1
            else:
                exec(src, ns)
    return checked


def test_readme_tour_runs_and_its_comments_are_true(monkeypatch):
    """The README's Python tour runs as printed (from the repository root, where
    its ../shared model path points), and its value comments are true."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a Python tour"
    monkeypatch.chdir(README.parent)
    assert sum(_run_block(b) for b in blocks) >= 2


def test_documentation_code_blocks_run(tmp_path, monkeypatch):
    """Every ``.. code-block:: python`` of the docs that is not a doctest runs
    as printed (in a scratch directory) and its value comments are true.  A
    block about the reader's own files or networks (a model file that is not
    there, networks ``f``/``g`` it does not define) stops at that line."""
    import re
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    from polyrelu.exceptions import ModelFileError

    monkeypatch.chdir(tmp_path)
    ran = 0
    for rst in sorted(DOCS.glob("*.rst")):
        for raw in re.findall(r"\.\. code-block:: python\n\n((?:[ ]{3,}.*\n|[ ]*\n)+)",
                              rst.read_text()):
            block = textwrap.dedent(raw)
            if ">>>" in block:
                continue        # doctests: collected by --doctest-glob
            try:
                _run_block(block)
            except ModelFileError as e:
                assert "not found" in str(e), f"{rst.name}: {e}"
            except NameError as e:
                assert re.search(r"name '(f|g)' is not defined", str(e)), f"{rst.name}: {e}"
            ran += 1
    assert ran >= 8
