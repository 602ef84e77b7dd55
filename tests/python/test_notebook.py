"""examples/notebook.ipynb runs top to bottom: with jupyter nbconvert --execute where it is
installed, else its code cells in order as one script."""
import json
import os
import pathlib
import shutil
import subprocess
import sys

NOTEBOOK = pathlib.Path(__file__).resolve().parents[2] / "examples" / "notebook.ipynb"


def test_notebook_runs_top_to_bottom(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if shutil.which("jupyter") and subprocess.run(["jupyter", "nbconvert", "--version"], capture_output=True).returncode == 0:
        subprocess.run(["jupyter", "nbconvert", "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=300",
                        "--output-dir", str(tmp_path), str(NOTEBOOK)], check=True, env=env, cwd=tmp_path)
        executed = json.loads((tmp_path / NOTEBOOK.name).read_text())
        errors = [o for c in executed["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert not errors
        outputs = [o for c in executed["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
        pages = ["".join(o["data"]["text/html"]) for o in outputs if "text/html" in o.get("data", {})]
        assert any("<iframe" in page for page in pages)  # the report, inline
        assert any("actlab compare: done" in page for page in pages)  # the progress block, finished
    else:
        cells = json.loads(NOTEBOOK.read_text())["cells"]
        script = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=tmp_path)
