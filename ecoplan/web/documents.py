"""The incident page's printed documents: the list to download and the deadline chart drawn
inline (SVG), and one document by its file name. Blocking work (plan file, Typst): the app
runs these in a thread."""

from __future__ import annotations

import tempfile
from pathlib import Path

from ecoplan import documents as docs
from ecoplan.web.actions import Refusal

MEDIA = {".pdf": "application/pdf", ".svg": "image/svg+xml", ".png": "image/png"}


def listing(st: dict) -> dict:
    """{"papers": [(file name, label)], "chart_svg": the chart's SVG or None, "chart_error"}."""
    from activities.documents import FontSettings, from_status
    from activities.documents import chart as charts
    from activities.documents.mapping import ACTIVATION_FILE, CASE_FILE, CHART_PNG, CHART_SVG, TERMINATION_FILE, report_file

    try:
        d = from_status(st)
    except (KeyError, TypeError, ValueError) as e:
        return {"papers": [], "chart_svg": None, "chart_error": str(e).splitlines()[0] if str(e) else type(e).__name__}
    papers = []
    if d.activation_notice:
        papers.append((ACTIVATION_FILE, "附件1 应急响应启动通知"))
    if d.termination_form:
        papers.append((TERMINATION_FILE, f"附件2 应急响应终止签报单（第{d.termination_form.round}轮）"))
    papers += [(report_file(r.number, r.kind), f"突发环境事件信息{r.kind_name}（第{r.number}号）") for r in d.info_reports]
    papers += [(CASE_FILE, "案卷"), (CHART_SVG, "时限执行图（SVG）"), (CHART_PNG, "时限执行图（PNG）")]
    try:
        svg, error = charts.to_svg(charts.layout(d.chart), FontSettings.from_env()), None
    except Exception as e:  # the page still shows; the chart says why it is missing
        svg, error = None, str(e).splitlines()[0] if str(e) else type(e).__name__
    return {"papers": papers, "chart_svg": svg, "chart_error": error}


def one(st: dict, name: str) -> tuple[bytes, str]:
    """The bytes of one document (the filed copy where there is one) and its media type."""
    kind = _kind(name)
    with tempfile.TemporaryDirectory(prefix="ecoplan-doc-") as tmp:
        try:
            written = docs.write(st, tmp, [kind])
        except Exception as e:  # a renderer that fails: one sentence
            raise Refusal(503, f"文件生成失败：{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
        path = Path(tmp) / name
        if path not in written or not path.is_file():
            raise Refusal(404, f"事件 {st.get('incident_id')} 没有文件 {name}")
        return path.read_bytes(), MEDIA[path.suffix]


def _kind(name: str) -> str:
    if "/" in name or "\\" in name or Path(name).suffix not in MEDIA:
        raise Refusal(404, f"没有文件 {name}")
    if name.startswith("report-"):
        return "info_report"
    for kind, names in docs.FILES.items():
        if name in names:
            return kind
    raise Refusal(404, f"没有文件 {name}")
