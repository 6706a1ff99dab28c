"""The console's plots: matplotlib drawn on the server as inline SVG (text as outlines, so the
browser needs no font and nothing is fetched), with Chinese labels through the one CJK font
configuration (:func:`recommender.fonts.configure_plot_fonts`)."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence

from recommender.fonts import configure_plot_fonts

_lock = threading.Lock()  # pyplot's figure manager is not thread-safe


def _svg(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.StringIO()
    figure.tight_layout()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # inline: no XML prolog or doctype


def bars(labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str = "",
         width: float = 6.0, height: float = 2.8, counts: bool = False) -> str:
    """One bar per label (``counts``: whole numbers on the axis)."""
    configure_plot_fonts()
    import matplotlib.pyplot as plt

    with _lock:
        figure, ax = plt.subplots(figsize=(width, height))
        ax.bar(range(len(values)), values, color="#3b6ea5")
        ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 6 else 0,
                      ha="right" if len(labels) > 6 else "center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel(ylabel, fontsize=8)
        if counts:
            from matplotlib.ticker import MaxNLocator

            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(figure)


def paired_bars(labels: Sequence[str], first: Sequence[float], second: Sequence[float], *,
                names: tuple[str, str], title: str, width: float = 6.0,
                height: float = 2.8) -> str:
    """Two bars per label (e.g. share of list slots beside share of the catalog)."""
    configure_plot_fonts()
    import matplotlib.pyplot as plt

    with _lock:
        figure, ax = plt.subplots(figsize=(width, height))
        x = range(len(labels))
        ax.bar([i - 0.2 for i in x], first, 0.4, label=names[0], color="#3b6ea5")
        ax.bar([i + 0.2 for i in x], second, 0.4, label=names[1], color="#c9a227")
        ax.set_xticks(list(x), labels, rotation=30 if len(labels) > 5 else 0,
                      ha="right" if len(labels) > 5 else "center", fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
        return _svg(figure)
