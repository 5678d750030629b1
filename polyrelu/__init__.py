"""polyrelu: exact polyhedral geometry of ReLU networks.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
>>> net([3, -2])
(Fraction(3, 1),)
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

from .exceptions import *  # noqa: F401,F403
from .numbers import Fraction  # noqa: F401
from .network import *  # noqa: F401,F403

# Optional modules are exported when they exist (each defines __all__).
_MODULES = ("polyhedron", "tropical", "regions", "folds", "equivalence", "tropex",
            "trajectories", "bounds")
for _name in _MODULES:
    try:
        _mod = _import_module(f".{_name}", __name__)
    except ModuleNotFoundError as _err:  # pragma: no cover - during development
        if _err.name != f"{__name__}.{_name}":
            raise
        continue
    for _sym in getattr(_mod, "__all__", ()):
        globals()[_sym] = getattr(_mod, _sym)
del _name, _import_module
