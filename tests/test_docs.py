"""The documentation site builds nitpicky without warnings (as `tox -e docs`
and `make docs`), renders as it reads (maths offline, examples as examples),
and its docstrings put their examples where numpydoc renders them."""

import html
import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
import types
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

DOCS = Path(__file__).parent.parent / "docs"
# exactly the command of `make docs` and `tox -e docs`
SPHINX = [sys.executable, "-m", "sphinx", "-n", "-W", "--keep-going", "-b", "html"]


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    """The docs built once (nitpicky, warnings are errors) into a scratch folder."""
    out = tmp_path_factory.mktemp("docs") / "html"
    res = subprocess.run(SPHINX + ["-q", str(DOCS), str(out)],
                         capture_output=True, text=True, timeout=900)
    return res, out


def _pages(out):
    # _modules/ holds viewcode's highlighted source listings, not pages
    return sorted(p for p in out.rglob("*.html")
                  if "_modules" not in p.parts and "_static" not in p.parts)


@pytest.mark.slow
def test_docs_build_nitpicky_without_warnings(built_docs):
    """Every cross-reference resolves (-n) and nothing warns (-W)."""
    res, out = built_docs
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    assert "WARNING" not in res.stderr, res.stderr[-3000:]
    assert (out / "index.html").exists()


class _Text(HTMLParser):
    """Visible text of a page outside maths and code, and its resources."""

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []      # per open element: inside maths / code?
        self.text: list[str] = []        # text outside maths and <pre>
        self.prompts: list[str] = []     # text with a doctest prompt outside <pre>
        self.scripts: list[str] = []
        self.styles: list[str] = []

    VOID = {"br", "img", "meta", "link", "input", "hr", "wbr", "source"}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("src"):
            self.scripts.append(a["src"])
        if tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append(a.get("href", ""))
        if tag in self.VOID:
            return
        inside = bool(self.stack and self.stack[-1])
        is_math = "math" in (a.get("class") or "").split()
        self.stack.append(inside or is_math or tag in ("pre", "script", "style"))

    def handle_endtag(self, tag):
        if tag not in self.VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1]:
            return
        self.text.append(data)
        if ">>>" in data:
            self.prompts.append(data.strip())


def _parse(page):
    p = _Text()
    p.feed(page.read_text())
    return p


@pytest.mark.slow
def test_maths_renders_offline(built_docs):
    """Maths is left to a MathJax that ships with the build (no CDN): every
    page with maths loads it from ``_static``, no page loads anything from the
    network, and no maths is left outside the elements MathJax renders."""
    res, out = built_docs
    assert res.returncode == 0, res.stderr[-3000:]
    with_maths = 0
    for page in _pages(out):
        parsed = _parse(page)
        remote = [u for u in parsed.scripts + parsed.styles if re.match(r"(https?:)?//", u)]
        assert not remote, f"{page.name} loads from the network: {remote}"
        text = "".join(parsed.text)
        for raw in ("\\(", "\\[", ":math:"):
            assert raw not in text, f"{page.name}: raw maths {raw!r} in " \
                f"{text[max(0, text.find(raw) - 80):text.find(raw) + 80]!r}"
        if 'class="math' in page.read_text():
            with_maths += 1
            mathjax = [s for s in parsed.scripts if "mathjax" in s.lower()]
            assert mathjax, f"{page.name} has maths but no MathJax"
            for src in mathjax:
                script = (page.parent / src).resolve()
                assert script.is_file(), f"{page.name}: {src} is not in the build"
                assert "MathJax" in script.read_text(errors="replace")[:200000]
    assert with_maths >= 5


# the autodoc blocks whose doctest once followed a Raises section and rendered
# as made-up exceptions (issue 19, item 8)
FORMER_FAKE_EXCEPTIONS = {
    "conventions.html": ["polyrelu.domains.as_domain", "polyrelu.numbers.to_fraction"],
    "equivalence.html": ["polyrelu.equivalence.Certificate.apply"],
    "folds.html": ["polyrelu.folds.fold_surface_on_image"],
    "io.html": ["polyrelu.io.load"],
    "regions.html": ["polyrelu.regions.regions"],
}


def _object_html(page_text, objid):
    """The rendered description of one documented object (up to the next one)."""
    start = page_text.index(f'id="{objid}"')
    nxt = page_text.find('<dt class="sig', start + 1)
    return page_text[start:nxt if nxt != -1 else len(page_text)]


@pytest.mark.slow
def test_examples_render_as_examples(built_docs):
    """No doctest prompt anywhere outside a code block (a prompt in a field
    list is an example parsed as parameters or exceptions), and the former
    fake-exception blocks show an Examples rubric with a doctest block and
    only real exceptions under Raises."""
    res, out = built_docs
    assert res.returncode == 0, res.stderr[-3000:]
    for page in _pages(out):
        stray = _parse(page).prompts
        assert not stray, f"{page.name}: doctest outside a code block: {stray[:3]}"
    for name, objids in FORMER_FAKE_EXCEPTIONS.items():
        text = (out / name).read_text()
        for objid in objids:
            block = _object_html(text, objid)
            assert re.search(r'<p class="rubric">Examples</p>\s*<div class="doctest', block), objid
            raises = re.search(r">Raises<.*?</dd>", block, re.S)
            assert raises, objid
            exc = [html.unescape(re.sub(r"<[^>]+>", "", m))
                   for m in re.findall(r"<strong>(.*?)</strong>", raises.group(0))]
            assert exc and all(re.fullmatch(r"[A-Z]\w*(Error|Reached)", e) for e in exc), \
                (objid, exc)


def _inventory(out):
    data = (out / "objects.inv").read_bytes().split(b"\n", 4)[4]
    return {line.split()[0] for line in zlib.decompress(data).decode().splitlines()
            if line.split()[1].startswith("py:")}


@pytest.mark.slow
def test_public_names_are_documented_and_linked(built_docs):
    """Every public name of ``polyrelu``, ``polyrelu.io`` and ``polyrelu.plot``
    has an entry in the API reference, and references by public name
    (``polyrelu.equivalent``) link to it."""
    res, out = built_docs
    assert res.returncode == 0, res.stderr[-3000:]
    documented = _inventory(out)
    missing = []
    for pkg in ("polyrelu", "polyrelu.io", "polyrelu.plot"):
        mod = importlib.import_module(pkg)
        for name in getattr(mod, "__all__", None) or [n for n in vars(mod) if n[0] != "_"]:
            obj = getattr(mod, name)
            if isinstance(obj, types.ModuleType) or obj is getattr(mod, "Fraction", None):
                continue        # subpackages; the standard library's Fraction
            if inspect.isclass(obj) or inspect.isfunction(obj):
                ok = {f"{obj.__module__}.{obj.__qualname__}", f"{pkg}.{name}"} & documented
            else:               # data: documented under a module that holds it
                ok = any(d.rpartition(".")[2] == name
                         and getattr(sys.modules.get(d.rpartition(".")[0]), name, None) is obj
                         for d in documented)
            if not ok:
                missing.append(f"{pkg}.{name}")
    assert not missing, f"public names without an API entry: {missing}"
    links = {
        ("tutorial_equivalence.html", "polyrelu.equivalent()"):
            "equivalence.html#polyrelu.equivalence.equivalent",
        ("tutorial_equivalence.html", "polyrelu.reduce()"):
            "equivalence.html#polyrelu.equivalence.reduce",
        ("cli.html", "polyrelu.Network.restrict()"):
            "network.html#polyrelu.network.Network.restrict",
    }
    for (name, title), href in links.items():
        text = (out / name).read_text()
        found = {html.unescape(re.sub(r"<[^>]+>", "", t)): h for h, t in re.findall(
            r'<a class="reference internal" href="([^"]+)"[^>]*>(.*?)</a>', text, re.S)}
        assert found.get(title) == href, (name, title, found.get(title))


# -- docstrings: examples in Examples sections --------------------------------

def _docstrings():
    """(name, docstring, kind) of every module, class and function of polyrelu."""
    import polyrelu

    names = ["polyrelu"] + [m.name for m in pkgutil.walk_packages(polyrelu.__path__, "polyrelu.")
                            if not m.name.endswith("__main__")]
    for modname in names:
        mod = importlib.import_module(modname)
        yield modname, mod.__doc__, "module"
        for name, obj in vars(mod).items():
            if getattr(obj, "__module__", None) != modname:
                continue
            if inspect.isclass(obj):
                yield f"{modname}.{name}", obj.__doc__, "class"
                for attr, member in vars(obj).items():
                    func = getattr(member, "__func__", member)
                    if inspect.isfunction(func):
                        yield f"{modname}.{name}.{attr}", func.__doc__, "method"
            elif inspect.isfunction(obj):
                yield f"{modname}.{name}", obj.__doc__, "function"


_FIELD = re.compile(r"^\s*(?::(?:param|type|raises|ivar|vartype|keyword|kwtype)\s+(.*?):(?:\s|$)"
                    r"|\.\. attribute:: (.*))")
_NAME = re.compile(r"\\?\*{0,2}[A-Za-z_][\w.]*")


def test_docstring_examples_sit_in_examples_sections():
    """What the docs render: napoleon turns a doctest that follows a Raises,
    Parameters, Returns or Attributes section (with no Examples header) into
    made-up exceptions, parameters or attributes, and prose after such a
    section into entries named by sentences.  Every docstring in polyrelu, in
    the docs or not, keeps its doctests before its first section or in an
    Examples section, and every entry is named by a name."""
    from sphinx.ext.napoleon import Config
    from sphinx.ext.napoleon.docstring import NumpyDocstring

    config = Config(napoleon_google_docstring=False, napoleon_use_rtype=False)
    faults, checked = [], 0
    for name, doc, kind in _docstrings():
        if not doc:
            continue
        checked += 1
        lines = str(NumpyDocstring(inspect.cleandoc(doc), config, what=kind)).splitlines()
        in_section = in_examples = False
        for line in lines:
            field = _FIELD.match(line)
            if field or line.startswith((".. rubric::", ":returns:", ":yields:")):
                in_section = True
                in_examples = line.strip() in (".. rubric:: Examples", ".. rubric:: Example")
            if field:
                entry = field.group(1) or field.group(2)
                if not all(_NAME.fullmatch(n.strip().strip("`")) for n in entry.split(",")):
                    faults.append(f"{name}: an entry named {entry.strip()[:60]!r}")
            if ">>>" in line and not (line.lstrip().startswith(">>>")
                                      and (in_examples or not in_section)):
                faults.append(f"{name}: a doctest outside Examples: {line.strip()[:60]!r}")
                break
    assert checked > 300
    assert not faults, "\n".join(faults)


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
