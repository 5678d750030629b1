"""Packaging facts that can regress, checked on a wheel and an sdist built here.

The sdist is built from a copy of the repository and the wheel from the
unpacked sdist (what ``python -m build`` does), both in-process with
setuptools' PEP 517 hooks and without build isolation: no network.  The
checks: package data and ``py.typed`` ship, every module ships, the
metadata carries the licence, author, URLs, classifiers and
``Requires-Python``, the licence text matches the declared licence, the sdist
leaves the tests out (MANIFEST.in says why), setuptools raises no
"absent from packages" warning, and the imports and the declared
dependencies agree.
"""

from __future__ import annotations

import ast
import email
import importlib.metadata as md
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from configparser import ConfigParser
from pathlib import Path

import pytest

import polyrelu

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "polyrelu"
IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.egg-info", "build",
                                "dist", "_build", "demo-out", "*.pyc", ".hypothesis")

BUILD = r"""
import sys, setuptools.build_meta as b
print(getattr(b, sys.argv[1])(sys.argv[2]))
"""


def _setuptools_version() -> tuple:
    try:
        return tuple(int(p) for p in md.version("setuptools").split(".")[:2])
    except (md.PackageNotFoundError, ValueError):
        return (0,)


def _hook(hook: str, cwd: Path, out: Path) -> tuple[Path, str]:
    res = subprocess.run([sys.executable, "-c", BUILD, hook, str(out)], cwd=cwd,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stdout + res.stderr
    name = res.stdout.strip().splitlines()[-1]
    return out / name, res.stdout + res.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(sdist, wheel, build log) built offline from a copy of the repository."""
    if _setuptools_version() < (77,):
        pytest.skip("building needs setuptools >= 77 (pyproject.toml); "
                    f"this environment has {md.version('setuptools')}")
    tmp = tmp_path_factory.mktemp("pkg")
    src = tmp / "src"
    shutil.copytree(ROOT, src, ignore=IGNORE, symlinks=True)
    dist = tmp / "dist"
    dist.mkdir()
    sdist, log1 = _hook("build_sdist", src, dist)
    unpacked = tmp / "unpacked"
    with tarfile.open(sdist) as t:
        t.extractall(unpacked, filter="data")
    (top,) = unpacked.iterdir()
    wheel, log2 = _hook("build_wheel", top, dist)
    return sdist, wheel, log1 + log2


def _wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as z:
        return set(z.namelist())


def _sdist_names(sdist: Path) -> set[str]:
    with tarfile.open(sdist) as t:
        names = t.getnames()
    prefix = names[0].split("/")[0] + "/"
    return {n[len(prefix):] for n in names if n.startswith(prefix)}


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        (meta,) = [n for n in z.namelist() if n.endswith(".dist-info/METADATA")]
        return email.message_from_string(z.read(meta).decode())


def _repo_package_files() -> set[str]:
    """Every file of the package in the repository (no caches)."""
    out = set()
    for p in PKG.rglob("*"):
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc":
            out.add(p.relative_to(ROOT).as_posix())
    return out


def test_no_absent_package_warning(built):
    _, _, log = built
    assert "absent from the `packages` configuration" not in log, log
    assert "License classifiers are deprecated" not in log, log


def test_wheel_ships_every_module_and_data_file(built):
    _, wheel, _ = built
    names = _wheel_names(wheel)
    want = _repo_package_files()
    assert want - names == set(), f"missing from the wheel: {sorted(want - names)}"
    for f in ("polyrelu/py.typed", "polyrelu/data/default_model.json",
              "polyrelu/data/train_default_model.py"):
        assert f in names
    schemas = {n for n in names if n.startswith("polyrelu/schemas/")}
    assert len(schemas) >= 9 and all(n.endswith(".schema.json") for n in schemas)
    # nothing but the package and its metadata
    assert {n.split("/")[0] for n in names} == {
        "polyrelu", f"polyrelu-{polyrelu.__version__}.dist-info"}


def test_wheel_metadata(built):
    _, wheel, _ = built
    m = _metadata(wheel)
    assert m["Name"] == "polyrelu" and m["Version"] == polyrelu.__version__
    assert m["License-Expression"] == "MIT"
    assert m["Author"]
    assert m["Requires-Python"] == ">=3.10"
    urls = dict(u.split(", ", 1) for u in m.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())
    cls = m.get_all("Classifier")
    assert any(c.startswith("Development Status :: ") for c in cls)
    assert "Typing :: Typed" in cls
    # the oldest Python named in a classifier is the one python_requires allows
    versions = sorted(tuple(map(int, c.rsplit(" ", 1)[1].split(".")))
                      for c in cls if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c))
    assert versions and versions[0] == (3, 10)
    # PEP 639: the licence is the expression; no deprecated licence classifier
    assert not any(c.startswith("License ::") for c in cls)
    assert m["Description-Content-Type"] == "text/markdown"
    assert "polyrelu" in m.get_payload()           # the README is the description
    with zipfile.ZipFile(wheel) as z:
        ep = z.read(f"polyrelu-{polyrelu.__version__}.dist-info/entry_points.txt").decode()
        lic = z.read(f"polyrelu-{polyrelu.__version__}.dist-info/licenses/LICENSE").decode()
    assert "polyrelu = polyrelu.cli:main" in ep
    assert lic == (ROOT / "LICENSE").read_text()


def test_license_file_matches_the_declared_licence():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License\n")
    assert "Permission is hereby granted, free of charge" in text
    cfg = ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert cfg["metadata"]["license_expression"] == "MIT"
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^license: MIT$", cff, re.M)


def test_citation_cff_is_current():
    cff = (ROOT / "CITATION.cff").read_text()
    assert re.search(r"^cff-version: 1\.2\.0$", cff, re.M)
    assert re.search(rf"^version: {re.escape(polyrelu.__version__)}$", cff, re.M), \
        "CITATION.cff names another version than polyrelu.__version__"
    for key in ("title", "authors", "message", "repository-code"):
        assert re.search(rf"^{key}:", cff, re.M), key


def test_sdist_has_the_package_and_leaves_the_tests_out(built):
    sdist, _, _ = built
    names = _sdist_names(sdist)
    for f in ("LICENSE", "CITATION.cff", "README.md", "setup.cfg", "pyproject.toml",
              "MANIFEST.in", "PKG-INFO"):
        assert f in names, f
    want = _repo_package_files()
    assert want - names == set(), f"missing from the sdist: {sorted(want - names)}"
    # decided in MANIFEST.in: the tests need the repository (docs, examples,
    # benchmarks, the shared models); none of it ships, so neither do they
    for folder in ("tests/", "docs/", "examples/", "benchmarks/"):
        assert not any(n.startswith(folder) for n in names), folder


def _third_party_imports() -> set[str]:
    """Top-level modules imported anywhere in the package (not the stdlib)."""
    mods = set()
    for p in PKG.rglob("*.py"):
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                mods.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split(".")[0])
    return {m for m in mods if m not in sys.stdlib_module_names and m != "polyrelu"}


def _requirement_names(lines: str) -> set[str]:
    out = set()
    for ln in lines.splitlines():
        ln = ln.split("#")[0].strip()
        if ln:
            out.add(re.split(r"[<>=!~;\[ ]", ln, maxsplit=1)[0].lower().replace("_", "-"))
    return out


def test_imports_and_declared_dependencies_agree():
    cfg = ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    core = _requirement_names(cfg["options"]["install_requires"])
    extras = set()
    for name, lines in cfg["options.extras_require"].items():
        if name != "dev":
            extras |= _requirement_names(lines)
    dev = _requirement_names(cfg["options.extras_require"]["dev"])
    dists = md.packages_distributions()
    imported: dict[str, set[str]] = {}
    for mod in _third_party_imports():
        names = {d.lower().replace("_", "-") for d in dists.get(mod, ())}
        assert names, f"polyrelu imports {mod!r}, which no installed distribution provides"
        imported[mod] = names
    for mod, names in imported.items():
        assert names & (core | extras | dev), \
            f"polyrelu imports {mod!r} ({', '.join(sorted(names))}) but setup.cfg " \
            f"does not declare it"
    provided = set().union(*imported.values())
    unused = core - provided
    assert not unused, f"declared in install_requires but never imported: {sorted(unused)}"


def test_install_page_names_the_system_packages():
    """docs/installation.rst names what `pip install polyrelu` needs to
    compile pycddlib, the same packages as the Makefile."""
    page = (ROOT / "docs" / "installation.rst").read_text()
    make = (ROOT / "Makefile").read_text()
    syspkgs = re.search(r"^SYSPKGS := (.*)$", make, re.M).group(1).split()
    for p in syspkgs + ["python3-dev", "build-essential"]:
        assert p in page, p
    assert "pip install torch==2.13.0" in page or "download.pytorch.org/whl/cpu" in page
