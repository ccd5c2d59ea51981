"""Write the notebooks of this folder from their cell sources (outputs empty).

Owns: turning the ``CELLS`` lists of the ``cells_*.py`` modules beside this
file (one per notebook, each cell a ``("md" | "code", source)`` pair) into
``notebooks/<NAME>.ipynb``. Edit the cells there, then run
``.venv/bin/python notebooks/build_notebooks.py [NAME ...]``. The files are
written as ``nbstripout --verify`` expects them (no outputs, sequential cell
ids), so the notebooks stay reviewable as plain code and in diffs.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

CELL_MODULES = ("cells_01_explore_graph", "cells_02_intent_model", "cells_03_retrieval",
                "cells_04_conversations")

KERNELSPEC = {"name": "yeban", "display_name": "Python 3 (yeban)", "language": "python"}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = new_notebook()
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for i, (kind, source) in enumerate(cells):
        text = dedent(source).strip("\n")
        cell = new_markdown_cell(text) if kind == "md" else new_code_cell(text)
        cell["id"] = str(i)
        nb.cells.append(cell)
    nbformat.validate(nb)
    return nb


def notebooks(names: set[str] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """``(name, cells)`` of every notebook, or of the named ones."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    out = []
    for module_name in CELL_MODULES:
        if names and module_name.removeprefix("cells_") not in names:
            continue
        module = importlib.import_module(module_name)
        out.append((module.NAME, module.CELLS))
    return out


def main(argv: list[str] | None = None) -> int:
    wanted = set(argv if argv is not None else sys.argv[1:])
    for name, cells in notebooks(wanted):
        path = HERE / f"{name}.ipynb"
        nbformat.write(build(name, cells), path)
        print(f"wrote {path.relative_to(HERE.parent)} ({len(cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
