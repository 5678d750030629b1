"""Sphinx configuration for the polyrelu documentation.

The build is nitpicky (``sphinx-build -n -W``, see tests/test_docs.py): every
cross-reference must resolve, and it must work without a network (MathJax is
served from the build, not from a CDN).
"""

import importlib
import inspect
import os
import sys

sys.path.insert(0, os.path.abspath(".."))

project = "polyrelu"
author = "the polyrelu developers"
copyright = "2026, the polyrelu developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    # MathJax 3 shipped in a PyPI package and copied into _static/mathjax:
    # maths renders offline (the default mathjax_path is a CDN URL).
    "sphinx-mathjax-offline",
    "sphinx.ext.viewcode",
]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
# Types in numpydoc sections are parsed: "optional", "default ...", literal sets
# like {"exact", "top1"} and numbers render as such; every other word is a
# cross-reference that must resolve.
napoleon_preprocess_types = True
napoleon_type_aliases = {
    # polyrelu's own vocabulary: links to the conventions that define it
    "rational": ":ref:`rational <numbers>`",
    "box": ":ref:`box <domains>`",
    # Python's vocabulary: the standard types the words name
    "sequence": ":class:`~collections.abc.Sequence`",
    "iterable": ":class:`~collections.abc.Iterable`",
    "path-like": ":class:`path-like <os.PathLike>`",
    "callable": ":class:`~collections.abc.Callable`",
}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
# No defaults: a default "members" overrides the member lists of the pages
# (Sphinx 9), and a default "show-inheritance" switches it on whatever its value.
autodoc_default_options: dict[str, str] = {}
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []

# External types named in docstrings.  Their documentation lives in other
# projects' sites, which would need intersphinx and so a network; the build
# must work offline, so these (and only these) are not links.
nitpicky = True
nitpick_ignore = [
    ("py:class", name)
    for name in (
        "Fraction", "fractions.Fraction", "collections.abc.Sequence",
        "collections.abc.Iterable", "collections.abc.Callable", "os.PathLike", "numpy.ndarray",
        "torch.nn.Module", "torch.jit.ScriptModule",
        # named by SPEC.md for this round's API (networkx.DiGraph from
        # dependency_graph, executors, torch.export files)
        "networkx.DiGraph", "concurrent.futures.Executor", "dask.distributed.Client",
        "torch.export.ExportedProgram",
    )
]


# -- names as Python resolves them --------------------------------------------
#
# Docs and docstrings name objects the way users and the code do: the public
# ``polyrelu.equivalent`` (SPEC.md), ``Network`` inside a module that imports
# it, ``polyrelu.plot.regions.plot_regions``.  autodoc documents each object
# under one name only, so such a reference is resolved here to the name the
# object is documented under: the reference's target is looked up as Python
# would (in the referring class, then its module, then as an absolute name)
# and matched by identity (module + qualified name) against every documented
# object; failing that, the one documented object whose name ends with the
# target (as Sphinx resolves the type of a field).  A name that denotes no
# documented object, or more than one, stays a broken reference and fails the
# build.

def _lookup(dotted):
    """The canonical name (defining module + qualified name) of the object a
    dotted name denotes, or None if it denotes none."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        canon = obj.__name__
        for j, attr in enumerate(parts[i:]):
            try:
                obj = inspect.getattr_static(obj, attr)
            except AttributeError:
                # a data-class field without a class attribute: name only
                if j == len(parts) - i - 1 and inspect.isclass(obj):
                    return canon + "." + attr
                return None
            obj = getattr(obj, "__func__", obj)
            if inspect.ismodule(obj):
                canon = obj.__name__
            elif (inspect.isclass(obj) or inspect.isfunction(obj)) \
                    and "<locals>" not in obj.__qualname__:
                canon = obj.__module__ + "." + obj.__qualname__
            else:
                canon = canon + "." + attr
        return canon
    return None


_DOCUMENTED: dict = {}     # canonical name -> documented name, per build


def _index_documented(app, env):
    _DOCUMENTED.clear()
    for name in sorted(env.get_domain("py").objects):
        canon = _lookup(name)
        if canon is not None and (canon not in _DOCUMENTED or name == canon):
            _DOCUMENTED[canon] = name


def _resolve_by_python_name(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    target = node["reftarget"].lstrip(".")
    mod, cls = node.get("py:module"), node.get("py:class")
    scopes = ([f"{mod}.{cls}"] if mod and cls else []) + ([mod] if mod else []) + [None]
    names = []
    for scope in scopes:
        canon = _lookup(f"{scope}.{target}" if scope else target)
        if canon in _DOCUMENTED:
            names = [_DOCUMENTED[canon]]
            break
    else:
        # not importable from the referring module (e.g. a type named in a
        # docstring only): a documented object whose name ends with it, if
        # exactly one does, as Sphinx itself resolves the types of fields
        names = [n for n in _DOCUMENTED.values() if n.endswith("." + target)]
    if len(names) == 1 and names[0] != target:
        return env.get_domain("py").resolve_xref(
            env, node["refdoc"], app.builder, node["reftype"], names[0], node, contnode)
    return None


def setup(app):
    app.connect("env-updated", _index_documented)
    app.connect("missing-reference", _resolve_by_python_name)
