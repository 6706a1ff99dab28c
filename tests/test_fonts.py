"""Chinese text in matplotlib figures (experiment reports, the console's plots): one font
configuration finds the CJK font, names only fonts that exist (no "findfont" lines) and draws
every glyph (no "missing from font" warning, which is what boxes are)."""

from __future__ import annotations

import logging
import os
import warnings

import pytest

from recommender.fonts import configure_plot_fonts, find_cjk_font


def test_chinese_labels_draw_without_findfont_lines_or_missing_glyphs(caplog, tmp_path) -> None:
    if find_cjk_font() is None:
        if os.environ.get("CI"):
            pytest.fail("no CJK font: .ci/run installs Debian's fonts-noto-cjk")
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    caplog.set_level(logging.DEBUG, logger="matplotlib")
    font = configure_plot_fonts()
    assert font.cjk_family is not None
    import experiments.plots  # noqa: F401  (its import configures the same fonts)
    import matplotlib.pyplot as plt

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph is a UserWarning
        figure, ax = plt.subplots()
        ax.bar(["农村居民", "retirees 退休人员"], [1, 2])
        ax.set_title("平等服务: nDCG@10")
        figure.savefig(tmp_path / "zh.png")
        figure.savefig(tmp_path / "zh.svg")
        plt.close(figure)
    assert not [r for r in caplog.records  # the per-draw "findfont: ... not found" warnings
                if "findfont" in r.getMessage() and r.levelno >= logging.WARNING]


def test_the_cjk_extras_packaged_font_is_found_when_no_system_font_is(monkeypatch,
                                                                      tmp_path) -> None:
    import sys
    import types

    from recommender import fonts

    packaged = tmp_path / "NotoSansCJK-Regular.ttc"
    packaged.write_bytes(b"not really a font")
    monkeypatch.setattr(fonts, "CANDIDATE_PATTERNS", ())
    monkeypatch.delenv(fonts.FONT_ENV, raising=False)
    monkeypatch.setitem(sys.modules, fonts.FONT_PACKAGE, None)  # not installed
    assert find_cjk_font() is None
    monkeypatch.setitem(sys.modules, fonts.FONT_PACKAGE,
                        types.SimpleNamespace(FONT_PATH=packaged))
    assert find_cjk_font() == str(packaged)
    monkeypatch.setenv(fonts.FONT_ENV, str(tmp_path / "missing.ttf"))
    assert find_cjk_font() is None  # a named file that is not there is not replaced silently
