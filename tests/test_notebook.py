"""The handout notebook: built from handout/notebook.py, valid, output-free, and it runs on the solution.

The execution test runs the notebook top to bottom with nbclient on a kernel of this very
interpreter (a kernelspec written into a temporary JUPYTER_PATH, so a clean CI clone needs
nothing registered), in a folder where `backprop` and `hyperparams.toml` are the solution's.
"""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tools import notebook

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solution"
KERNEL = "backprop-handout-test"
CELL_TIMEOUT = 600   # seconds: only a guard against a hang (speed is not tested here)
FIGURES = 8         # eps sweep, datasets, boundaries grid, 4 hidden-unit figures, loss curves


def test_parse_percent_splits_cells_and_strips_markdown_prefixes():
    text = "# a note for maintainers\n\n# %% [markdown]\n# # Title\n#\n# text\n\n# %%\nx = 1\n\n\n# %%\ny = 2\n"
    assert notebook.parse_percent(text) == [("markdown", "# Title\n\ntext"), ("code", "x = 1"), ("code", "y = 2")]


@pytest.mark.parametrize("text, problem", [
    ("x = 1\n", "no '# %%' cell markers"),
    ("# %% [raw]\nx\n", "unknown cell kind"),
    ("# %% [markdown]\nnot a comment\n", "does not start with '# '"),
    ("# %%\n\n# %%\nx = 1\n", "empty cell"),
])
def test_parse_percent_rejects_malformed_sources(text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)):
        notebook.parse_percent(text)


def test_committed_notebook_is_a_fresh_build():
    committed = (ROOT / "handout" / "backprop.ipynb").read_text(encoding="utf-8")
    fresh = notebook.render((ROOT / "handout" / "notebook.py").read_text(encoding="utf-8"))
    assert committed == fresh, "handout/backprop.ipynb is stale: run `python -m tools.notebook`"
    assert notebook.main(["--check"]) == 0


def test_build_is_deterministic_valid_and_has_no_outputs():
    source = (ROOT / "handout" / "notebook.py").read_text(encoding="utf-8")
    first, second = notebook.render(source), notebook.render(source)
    assert first == second
    nb = nbformat.reads(first, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 8 and any(c.cell_type == "markdown" for c in nb.cells)
    assert all(c.outputs == [] and c.execution_count is None for c in code)
    assert [c.id for c in nb.cells] == [f"cell-{i:02d}" for i in range(len(nb.cells))]


def test_student_notebook_uses_the_students_package_and_the_lectures_examples():
    source = "\n".join(c.source for c in nbformat.reads(
        notebook.render((ROOT / "handout" / "notebook.py").read_text(encoding="utf-8")), as_version=4).cells)
    for needed in ("numerical_gradient", "relative_error", "from backprop.modules import Linear",
                   "build_mlp", "train(", "contourf", "hyperparams.toml", "hidden_unit_lines"):
        assert needed in source, needed
    assert "solution" not in source.lower()


def _kernelspec(folder):
    """A kernelspec named KERNEL that starts ipykernel with this interpreter, headless."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "backprop handout test", "language": "python",
        # the inline backend renders with Agg and needs no display
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONDONTWRITEBYTECODE": "1"},
    }))


def _outputs(nb, output_type):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == output_type]


def test_notebook_runs_on_the_solution_and_draws_the_figures(tmp_path, monkeypatch):
    work = tmp_path / "student"
    work.mkdir()
    (work / "backprop").symlink_to(SOLUTION / "backprop", target_is_directory=True)
    (work / "hyperparams.toml").write_bytes((SOLUTION / "hyperparams.toml").read_bytes())
    _kernelspec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")

    nb = nbformat.reads(notebook.render((ROOT / "handout" / "notebook.py").read_text(encoding="utf-8")),
                        as_version=4)
    NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL,
                   resources={"metadata": {"path": str(work)}}).execute()
    assert _outputs(nb, "error") == []

    pngs = [o for o in _outputs(nb, "display_data") if "image/png" in o.data]
    assert len(pngs) == FIGURES, f"{len(pngs)} figures drawn, expected {FIGURES}"
    stdout = "".join(o.text for o in _outputs(nb, "stream") if o.name == "stdout")
    assert str(work / "backprop") in stdout, "the notebook did not import the package beside it"
    # the solution's Linear passes the gradient check; the planted bugs do not
    errors = {m.group(1): float(m.group(2)) for m in re.finditer(r"dJ/d(\w+): relative error (\S+)", stdout)}
    assert set(errors) == {"x", "W", "b"} and max(errors.values()) < 1e-8, errors
    bugs = [float(v) for v in re.findall(r"^(?!dJ/d).*relative error (\S+)$", stdout, re.MULTILINE)]
    assert len(bugs) == 3 and min(bugs) > 1e-2, bugs
    # the tuned networks (the solution's hyperparams.toml) separate every dataset
    tuned = re.findall(r"(\w+)\s+test accuracy\s+(.*)", stdout)
    assert [name for name, _ in tuned] == ["diagonal_band", "one_pocket", "four_gaussians", "two_pockets"]
    hidden = {"diagonal_band": 2, "one_pocket": 3, "four_gaussians": 2, "two_pockets": 10}
    for name, row in tuned:
        accuracy = dict(re.findall(r"(LR|h=\d+): (\S+)", row))
        assert float(accuracy[f"h={hidden[name]}"]) >= 0.95, (name, row)
        assert float(accuracy["LR"]) < 0.8, (name, row)
