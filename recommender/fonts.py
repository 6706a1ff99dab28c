"""Fonts for matplotlib figures that hold Chinese text (experiment reports, the console's plots).

Matplotlib's default font (DejaVu Sans) has no CJK glyphs: Chinese labels come out as boxes,
and naming a family that is not installed makes every text draw log a "findfont" warning. So
the font is found once, by file (matplotlib's font cache may predate the install), registered,
and named after DejaVu Sans as the fallback: Latin text keeps its usual look, each CJK glyph
comes from the CJK font (matplotlib's per-glyph fallback). Only fonts that exist are named,
so nothing is logged per draw; when none is installed one warning says what to install.

The project installs Debian's ``fonts-noto-cjk`` (``.ci/run``). Without root, the ``cjk`` extra
(``pip install -e '.[cjk]'``) installs PyPI's ``noto-cjk-sans-otc``, which ships the same
Noto Sans CJK file inside a Python package, and is found too; ``RECOMMENDER_CJK_FONT`` may
name any other font file.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
from dataclasses import dataclass

log = logging.getLogger(__name__)

FONT_ENV = "RECOMMENDER_CJK_FONT"
# Where Debian/Ubuntu (fonts-noto-cjk, fonts-wqy-*) and other distributions put CJK fonts.
CANDIDATE_PATTERNS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/**/NotoSansCJK*-Regular.*",
    "/usr/share/fonts/**/NotoSansSC-Regular.*",
    "/usr/share/fonts/**/SourceHanSans*-Regular.*",
    "/usr/share/fonts/**/wqy-microhei.ttc",
    "/usr/share/fonts/**/wqy-zenhei.ttc",
    "/usr/local/share/fonts/**/*CJK*.tt[cf]",
    "/usr/local/share/fonts/**/*CJK*.otf",
)
LATIN_FAMILY = "DejaVu Sans"
FONT_PACKAGE = "noto_cjk_sans_otc"  # PyPI noto-cjk-sans-otc (the ``cjk`` extra): FONT_PATH


@dataclass(frozen=True)
class PlotFont:
    """What :func:`configure_plot_fonts` set: the CJK family (None: none found) and its file."""

    cjk_family: str | None
    path: str | None


_lock = threading.Lock()
_configured: list[PlotFont] = []


def find_cjk_font() -> str | None:
    """The file of a CJK font on this machine: ``RECOMMENDER_CJK_FONT`` if set, else the
    first of the usual places that exists, else the ``cjk`` extra's packaged font."""
    named = os.environ.get(FONT_ENV)
    if named:
        return named if os.path.isfile(named) else None
    for pattern in CANDIDATE_PATTERNS:
        found = sorted(glob.glob(pattern, recursive=True))
        if found:
            return found[0]
    return _packaged_font()


def _packaged_font() -> str | None:
    """The font file of the ``cjk`` extra's package, when it is installed."""
    import importlib

    try:
        package = importlib.import_module(FONT_PACKAGE)
    except ImportError:
        return None
    path = str(getattr(package, "FONT_PATH", ""))
    return path if path and os.path.isfile(path) else None


def configure_plot_fonts() -> PlotFont:
    """Make matplotlib draw Chinese (once per process; later calls return the same answer)."""
    with _lock:
        if _configured:
            return _configured[0]
        import matplotlib

        matplotlib.use("Agg")  # files and strings only; never a window
        from matplotlib import font_manager, rcParams

        path = find_cjk_font()
        family = None
        if path is not None:
            try:
                font_manager.fontManager.addfont(path)
                family = font_manager.FontProperties(fname=path).get_name()
            except (OSError, RuntimeError, ValueError) as error:
                log.warning("cannot use the CJK font %s (%s)", path, error)
                path = None
        if family is None:
            log.warning("no CJK font found: Chinese text in plots is drawn as boxes; install "
                        "Debian's fonts-noto-cjk or set %s to a font file", FONT_ENV)
        rcParams["font.family"] = [LATIN_FAMILY] + ([family] if family else [])
        rcParams["svg.fonttype"] = "path"  # SVG text as outlines: the browser needs no font
        rcParams["axes.unicode_minus"] = False  # the CJK fonts' minus is fine; avoid boxes
        _configured.append(PlotFont(family, path))
        return _configured[0]
