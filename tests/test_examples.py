"""Every script in examples/ runs in its quick mode and writes its outputs."""

import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"   # beside the clone

EXAMPLES = sorted(p for p in (Path(__file__).parent.parent / "examples").glob("*.py")
                  if not p.name.startswith("_"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_quick(script, tmp_path):
    if script.stem == "verify_models" and not (SHARED / "data" / "onnx").is_dir():
        pytest.skip(f"the shared ACAS Xu models are not in {SHARED}")
    res = subprocess.run([sys.executable, str(script), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600,
                         env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin",
                              "HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.strip(), "an example should print what it shows"
