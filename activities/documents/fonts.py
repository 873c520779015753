"""The fonts the documents and the chart are set in, and the Typst compiler that uses them.

Defaults: Noto Serif CJK SC (宋体-like body and titles) and Noto Sans CJK SC (黑体-like chart
and small print), from Debian's fonts-noto-cjk, which `make install` installs. A bureau that
prints in its own fonts sets ECOPLAN_FONT_DIRS (folders holding TTF/OTF/TTC files, separated
by ':') and ECOPLAN_FONT_SERIF / ECOPLAN_FONT_SANS (family names, e.g. "FangSong"). Only those
folders are read; fonts are embedded (subset) in every PDF; nothing is fetched at run time.
"""

from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from activities.settings import FontSettings  # the settings (ECOPLAN_FONT_*) are in activities/settings.py

TEMPLATES = Path(__file__).parent / "templates"


class FontMissing(RuntimeError):
    """A font the settings name is not there; the message says which and what to do."""


@lru_cache(maxsize=4)
def compiler(fonts: FontSettings):
    """One Typst compiler per font setting: fonts are indexed once, later documents compile fast."""
    import typst

    present = [d for d in fonts.dirs if Path(d).is_dir()]
    book = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=present)
    families = set(book.families())
    for role, family in (("ECOPLAN_FONT_SERIF", fonts.serif), ("ECOPLAN_FONT_SANS", fonts.sans)):
        if family not in families:
            raise FontMissing(f"在 {'、'.join(fonts.dirs)} 中找不到字体 {family}：请运行 make install（安装 fonts-noto-cjk），"
                              f"或设置 ECOPLAN_FONT_DIRS 和 {role}")
    return typst.Compiler(font_paths=book, ignore_system_fonts=True, root=str(TEMPLATES))


_lock = threading.Lock()  # activities run in threads; one compile at a time per process


def typeset(template: str, data: dict, fonts: FontSettings, fmt: str = "pdf", ppi: float | None = None):
    """Compile templates/<template> with `data` (JSON, read by the template as sys.inputs.data):
    text arrives as data, never as markup, so no field can inject Typst code."""
    c = compiler(fonts)
    inputs = {"data": json.dumps(data, ensure_ascii=False), "serif": fonts.serif, "sans": fonts.sans}
    with _lock:
        return c.compile(input=str(TEMPLATES / template), format=fmt, ppi=ppi, sys_inputs=inputs)
