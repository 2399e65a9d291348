"""The notebooks in notebooks/ run top to bottom (with small sizes:
PCCT_NOTEBOOK_QUICK=1), and are committed without outputs."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def test_the_notebooks_exist():
    assert {"quickstart.ipynb", "dynamic_updates.ipynb"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_stored_without_outputs(name):
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name}: a code cell has outputs; strip them"
            assert cell["execution_count"] is None, f"{name}: a code cell has an execution count"


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A kernel spec that runs this interpreter (the installed 'python3'
    spec may name whatever 'python' is on PATH), found first on
    JUPYTER_PATH; small sizes in the notebooks."""
    for module in ("nbclient", "nbformat", "ipykernel"):
        pytest.importorskip(module, reason=f"{module} is needed to run the notebooks (pip install '.[test]')")
    spec = tmp_path / "kernels" / "pcct-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "pcct tests",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path) + os.pathsep + os.environ.get("JUPYTER_PATH", ""))
    monkeypatch.setenv("PCCT_NOTEBOOK_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    return "pcct-test"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, kernel_env):
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        nb, kernel_name=kernel_env, timeout=300, startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    t0 = time.monotonic()
    try:
        client.execute()
    except CellExecutionError:
        raise
    except Exception as e:  # the kernel did not start: no notebook ran
        if client.kc is None or "kernel" in type(e).__name__.lower() or "Timeout" in type(e).__name__:
            pytest.skip(f"the Jupyter kernel could not start: {type(e).__name__}: {e}")
        raise
    print(f"{name}: {time.monotonic() - t0:.1f} s")
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
