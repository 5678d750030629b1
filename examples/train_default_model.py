"""Train the embedded demo network (polyrelu/data/default_model.json).

The training script ships with the model as package data,
``polyrelu/data/train_default_model.py``; this example runs it with the same
arguments::

    python examples/train_default_model.py              # rewrites the shipped JSON
    python examples/train_default_model.py --quick --out DIR
"""

import runpy
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "polyrelu" / "data" / "train_default_model.py"

if __name__ == "__main__":
    sys.argv[0] = str(SCRIPT)
    runpy.run_path(str(SCRIPT), run_name="__main__")
