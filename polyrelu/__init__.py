"""polyrelu: exact polyhedral geometry of ReLU networks.

>>> import polyrelu as pr
>>> net = pr.Network.from_weights([([[1, 0], [0, 1]], [0, 0]), ([[1, 1]], [0])])
>>> net([3, -2])
(Fraction(3, 1),)
"""

__version__ = "0.1.0"

from . import (
    bab,  # noqa: F401  (pr.bab: certified bound-and-split, docs/bab.rst)
    io,  # noqa: F401  (pr.io.load, pr.io.load_default_model)
)
from .bounds import *
from .decision import *
from .domains import *
from .equivalence import *
from .exceptions import *
from .folds import *
from .lipschitz import *
from .network import *
from .numbers import Fraction
from .polyhedron import *
from .regions import *
from .results import load_result  # noqa: F401  (pr.load_result)
from .robustness import *
from .trajectories import *
from .tropex import *
from .tropical import *
from .verify import *
