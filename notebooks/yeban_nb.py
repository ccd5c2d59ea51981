"""Shared setup for the notebooks in this folder (they run with cwd = notebooks/).

Owns: the one place that puts the project root on ``sys.path`` for the
notebooks, the notebook context (settings, Neo4j driver, encoder and intent
classifier, each created once through the project's packages), the CJK font
for matplotlib, ``save_fig`` (PNG files under ``settings.reports_dir /
"notebooks"``) and a few plain-Python table helpers (pandas is not a
dependency).

The first cell of every notebook is::

    import yeban_nb
    ctx = yeban_nb.connect()

The Neo4j connection, the var/ directory and the models come from
``schema.settings.load_settings()``, i.e. the ``YEBAN_*`` / ``NEO4J_*``
environment and the env file, exactly as for the service.
"""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

if TYPE_CHECKING:
    import neo4j
    from matplotlib.figure import Figure

    from schema.settings import Settings

logger = logging.getLogger(__name__)

FIGURE_SUBDIR = "notebooks"

# Fonts with Simplified Chinese glyphs, best first: the pip package the project
# pins in requirements-dev.txt, then Debian's fonts-noto-cjk / fonts-wqy-*.
SYSTEM_CJK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
CJK_PROBE = "夜班库存退货政策"


class NotebookSetupError(RuntimeError):
    """Something a notebook needs (font, model, database) is not available."""


# --- fonts -------------------------------------------------------------------
def find_cjk_font() -> Path | None:
    """A font file with Chinese glyphs: the ``pylopdf-fonts-zh-cn`` package, else a system font."""
    try:
        import pylopdf_fonts_zh_cn
    except ImportError:
        candidates: list[Path] = []
    else:
        candidates = [Path(pylopdf_fonts_zh_cn.sans_path())]
    candidates.extend(SYSTEM_CJK_FONTS)
    return next((p for p in candidates if p.is_file()), None)


def font_covers(font_path: Path, text: str = CJK_PROBE) -> bool:
    """True when every character of ``text`` has a glyph in the font."""
    from matplotlib.ft2font import FT2Font

    font = FT2Font(str(font_path))
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def setup_matplotlib() -> str:
    """Register the CJK font with matplotlib and make it the default sans-serif; returns its name."""
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    path = find_cjk_font()
    if path is None:
        raise NotebookSetupError(
            "no Chinese font found: install the pip package pylopdf-fonts-zh-cn "
            "(requirements-dev.txt) or Debian's fonts-noto-cjk"
        )
    font_manager.fontManager.addfont(str(path))
    name = font_manager.FontProperties(fname=str(path)).get_name()
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False  # the CJK font lacks U+2212
    plt.rcParams["figure.dpi"] = 100
    plt.rcParams["savefig.dpi"] = 110
    logger.info("matplotlib font: %s (%s)", name, path)
    return name


# --- context -------------------------------------------------------------------
@dataclass
class NotebookContext:
    """What a notebook works with; created by :func:`connect`."""

    settings: Settings
    font_name: str
    _driver: neo4j.Driver | None = None
    _encoder: Any = None
    _classifier: Any = None
    saved: list[Path] = field(default_factory=list)

    @property
    def database(self) -> str:
        return self.settings.neo4j_database

    @property
    def driver(self) -> neo4j.Driver:
        """The one Neo4j driver of this kernel (created and verified on first use)."""
        if self._driver is None:
            from graph.driver import connect as connect_graph

            self._driver = connect_graph(self.settings)
        return self._driver

    @property
    def figures_dir(self) -> Path:
        path = self.settings.reports_dir / FIGURE_SUBDIR
        path.mkdir(parents=True, exist_ok=True)
        return path

    def encoder(self):
        """The configured e5 encoder, loaded once (bootstraps the default checkpoint if missing)."""
        if self._encoder is None:
            from retrieval.encoder import encoder_from_settings
            from retrieval.models import bootstrap, ensure_offline_env

            ensure_offline_env(self.settings)
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            if not self.settings.encoder_model:
                bootstrap(self.settings)  # a no-op when the checkpoint is current
            self._encoder = encoder_from_settings(self.settings)
            self._encoder.warm_up()
        return self._encoder

    def classifier(self):
        """The intent classifier (trained and saved on first use), through ``retrieval.intent``."""
        if self._classifier is None:
            from retrieval.intent import load_or_train

            self._classifier = load_or_train(self.settings, self.encoder())
        return self._classifier

    def save_fig(self, fig: Figure, name: str) -> Path:
        """Write ``fig`` as ``<reports_dir>/notebooks/<name>.png`` and return the path."""
        path = self.figures_dir / f"{name}.png"
        fig.savefig(path, bbox_inches="tight")
        self.saved.append(path)
        return path

    def close(self) -> None:
        if self._driver is not None:
            self._driver.close()
            self._driver = None


_CONTEXT: NotebookContext | None = None


def connect() -> NotebookContext:
    """The notebook context for this kernel (created once; re-running the cell reuses it)."""
    global _CONTEXT
    if _CONTEXT is None:
        from schema.settings import load_settings

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        logging.getLogger("jieba").setLevel(logging.WARNING)  # jieba logs its dictionary load at DEBUG
        warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm without ipywidgets
        settings = load_settings()
        _CONTEXT = NotebookContext(settings=settings, font_name=setup_matplotlib())
    return _CONTEXT


def save_fig(fig: Figure, name: str) -> Path:
    """``connect().save_fig(fig, name)``."""
    return connect().save_fig(fig, name)


# --- small data helpers ----------------------------------------------------------
def read_jsonl(path: Path | str) -> list[dict[str, Any]]:
    """Rows of a UTF-8 JSON Lines file (relative paths are taken from the project root)."""
    path = Path(path)
    if not path.is_absolute():
        path = PROJECT_ROOT / path
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def display_width(text: str) -> int:
    """Terminal width of ``text``: CJK characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    if value is None:
        return "-"
    return str(value)


def table(rows: Sequence[Sequence[Any]], headers: Sequence[str], max_rows: int | None = None) -> str:
    """A plain-text table with CJK-aware alignment (numbers right-aligned)."""
    shown = list(rows if max_rows is None else rows[:max_rows])
    cells = [[format_cell(v) for v in row] for row in shown]
    numeric = [
        all(isinstance(row[i], int | float) for row in shown) if shown else False for i in range(len(headers))
    ]
    widths = [
        max([display_width(h)] + [display_width(row[i]) for row in cells]) for i, h in enumerate(headers)
    ]
    lines = [
        "  ".join(_pad(h, w, num) for h, w, num in zip(headers, widths, numeric, strict=True)),
        "  ".join("-" * w for w in widths),
    ]
    lines += ["  ".join(_pad(c, w, num) for c, w, num in zip(row, widths, numeric, strict=True)) for row in cells]
    if max_rows is not None and len(rows) > max_rows:
        lines.append(f"... ({len(rows) - max_rows} more rows)")
    return "\n".join(lines)


def show(rows: Sequence[Sequence[Any]], headers: Sequence[str], max_rows: int | None = None) -> None:
    """Print :func:`table`."""
    print(table(rows, headers, max_rows))
