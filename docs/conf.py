"""Sphinx configuration for the polyrelu documentation."""

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
    "sphinx.ext.viewcode",
]
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "show-inheritance": False}
# Data classes repeat their fields as attributes; that is not a warning.
suppress_warnings = ["autodoc.duplicate_object", "ref.python"]
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_static_path: list[str] = []
