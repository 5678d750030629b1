"""Plots (matplotlib): regions, slices, layer-by-layer boundaries, fold sets,
dependency graphs, trajectories.

``polyrelu.plot`` is a package rather than one module so that each topic's
drawing code sits beside the others without one file growing for every paper;
every public function is re-exported here, e.g. ``polyrelu.plot.plot_regions``.
Every figure is drawn in one style, :mod:`polyrelu.plot.style` (fonts, line
widths, palettes, PNG / SVG / PDF output).  Floats appear only here, for
drawing; nothing drawn decides anything.
"""

from . import decision as _decision
from . import depgraph as _depgraph
from . import folds as _folds
from . import regions as _regions
from . import style  # noqa: F401  (polyrelu.plot.style: the one figure style)
from . import trajectories as _trajectories
from . import tropex as _tropex
from .decision import *  # noqa: F401,F403
from .depgraph import *  # noqa: F401,F403
from .folds import *  # noqa: F401,F403
from .regions import *  # noqa: F401,F403
from .style import LAYER_COLORS, ORDER_COLORS, order_color  # noqa: F401  (older names)
from .trajectories import *  # noqa: F401,F403
from .tropex import *  # noqa: F401,F403

__all__ = [*_regions.__all__, *_decision.__all__, *_folds.__all__, *_depgraph.__all__,
           *_trajectories.__all__,
           *_tropex.__all__]
