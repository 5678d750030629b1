"""Plots (matplotlib): regions, slices, layer-by-layer boundaries, fold sets,
dependency graphs, trajectories.

``polyrelu.plot`` is a package rather than one module so that each topic's
drawing code sits beside the others without one file growing for every paper;
every public function is re-exported here, e.g. ``polyrelu.plot.plot_regions``.
Floats appear only here, for drawing; nothing drawn decides anything.
"""

from importlib import import_module as _import_module

__all__: list[str] = []

for _name in ("regions", "folds", "trajectories", "tropex"):
    try:
        _mod = _import_module(f".{_name}", __name__)
    except ModuleNotFoundError as _err:  # pragma: no cover - during development
        if _err.name != f"{__name__}.{_name}":
            raise
        continue
    for _sym in getattr(_mod, "__all__", ()):
        globals()[_sym] = getattr(_mod, _sym)
        __all__.append(_sym)
del _name, _import_module
