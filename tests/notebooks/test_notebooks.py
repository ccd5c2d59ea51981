"""Every notebook runs top to bottom against the real Neo4j with the demo store
loaded, in a real Jupyter kernel, and writes its figures.

The kernel gets the test server's connection and ``var/test`` through the
environment (``NEO4J_*``, ``YEBAN_VAR_DIR``), exactly as a user's kernel gets
theirs, and the shared bootstrapped e5 checkpoint through ``YEBAN_ENCODER_MODEL``.
Executed copies are kept under ``var/test/reports/notebooks/executed/`` for
reading after a failure.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import neo4j
import pytest

from schema.settings import PROJECT_ROOT, Settings, load_settings

NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
CELL_TIMEOUT_S = 1200
FIGURES = {
    "01_explore_graph": ("01_counts", "01_category_tree", "01_stock", "01_policies_timeline",
                         "01_policy_coverage", "01_neighbourhood"),
    "02_intent_model": ("02_class_balance", "02_confusion", "02_accuracy_by_length", "02_reliability"),
    "03_retrieval": ("03_metrics", "03_scores", "03_faq_pca"),
    "04_conversations": ("04_hot_topics", "04_night", "04_handoff_reasons", "04_unanswered_clusters"),
}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def _notebook_module(name: str):
    """Import a module of notebooks/ (not a package: the notebooks run with it as cwd)."""
    import importlib

    if str(NOTEBOOK_DIR) not in sys.path:
        sys.path.append(str(NOTEBOOK_DIR))
    return importlib.import_module(name)


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    return "yeban" if "yeban" in specs else "python3"


@pytest.fixture(scope="module")
def encoder_dir() -> Path:
    """The shared e5 checkpoint (bootstrapped once; a no-op when current)."""
    from retrieval.models import bootstrap, ensure_offline_env

    default = load_settings()
    ensure_offline_env(default)
    return Path(bootstrap(default).path)


@pytest.fixture(scope="module")
def demo_store(driver: neo4j.Driver, settings: Settings, encoder_dir: Path) -> Settings:
    """The test database holding data/demo, the vector index built, stale outputs removed."""
    from graph.knowledge import GraphKnowledge
    from graph.testing import reset_database
    from ingest.loader import Loader
    from retrieval.encoder import E5Encoder
    from retrieval.index_build import build_index

    reset_database(driver, settings.neo4j_database)
    summary = Loader(driver, settings.neo4j_database, phone_salt=settings.phone_hash_salt.get_secret_value(),
                     show_progress=False).load([PROJECT_ROOT / "data" / "demo"], author="tests")
    assert summary.counts["product"].created > 300
    build_index(GraphKnowledge(driver, settings.neo4j_database), E5Encoder(str(encoder_dir)), settings.index_dir)

    shutil.rmtree(settings.reports_dir / "notebooks", ignore_errors=True)
    for suffix in ("", "-wal", "-shm"):  # notebook 04 then records a fresh scripted day
        Path(f"{settings.events_db}{suffix}").unlink(missing_ok=True)
    return settings


def _kernel_env(settings: Settings, encoder_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("YEBAN_", "NEO4J_"))}
    env.update({
        "NEO4J_URI": settings.bolt_uri,
        "NEO4J_USER": settings.neo4j_user,
        "NEO4J_PASSWORD": settings.neo4j_password.get_secret_value(),
        "NEO4J_DATABASE": settings.neo4j_database,
        "YEBAN_VAR_DIR": str(settings.var_dir),
        "YEBAN_ENCODER_MODEL": str(encoder_dir),
    })
    return env


def _run(name: str, settings: Settings, encoder_dir: Path) -> None:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
    client = NotebookClient(nb, kernel_name=_kernel_name(), timeout=CELL_TIMEOUT_S,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    try:
        client.execute(env=_kernel_env(settings, encoder_dir))  # raises CellExecutionError on a failing cell
    finally:
        out = settings.reports_dir / "notebooks" / "executed"
        out.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out / f"{name}.ipynb")


def test_notebooks_are_stored_without_outputs() -> None:
    import nbformat

    assert sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")) == sorted(FIGURES)
    for name in FIGURES:
        nb = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        nbformat.validate(nb)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert code and code[0].source.startswith("import yeban_nb"), name
        assert all(not c.outputs and c.execution_count is None for c in code), f"{name} has outputs"


def test_notebooks_match_their_cell_sources() -> None:
    """The stored .ipynb files are what build_notebooks.py writes from the cells_*.py modules."""
    import nbformat

    build_notebooks = _notebook_module("build_notebooks")
    for name, cells in build_notebooks.notebooks():
        built = build_notebooks.build(name, cells)
        stored = nbformat.read(NOTEBOOK_DIR / f"{name}.ipynb", as_version=4)
        assert [(c.cell_type, c.source) for c in stored.cells] == [(c.cell_type, c.source) for c in built.cells], (
            f"{name}.ipynb is stale: run .venv/bin/python notebooks/build_notebooks.py")


def test_a_chinese_font_is_available_to_matplotlib() -> None:
    yeban_nb = _notebook_module("yeban_nb")
    path = yeban_nb.find_cjk_font()
    assert path is not None, "install pylopdf-fonts-zh-cn (requirements-dev.txt)"
    assert yeban_nb.font_covers(path, "夜班库存退货政策热点看板")


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_notebook_runs_and_writes_its_figures(name: str, demo_store: Settings, encoder_dir: Path) -> None:
    started = time.time()
    _run(name, demo_store, encoder_dir)
    figures = demo_store.reports_dir / "notebooks"
    for figure in FIGURES[name]:
        path = figures / f"{figure}.png"
        assert path.is_file(), f"{name} did not write {path}"
        assert path.stat().st_mtime >= started - 1
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000, f"{path} is not a real figure"
    if name == "04_conversations":
        from schema.records import FAQRecord

        suggested = figures / "suggested_faq.jsonl"
        lines = [line for line in suggested.read_text(encoding="utf-8").splitlines() if line.strip()]
        assert lines, "no FAQ suggestions from the scripted unanswered questions"
        records = [FAQRecord.model_validate_json(line) for line in lines]
        assert all(r.paraphrases for r in records)
