"""The incident's documents, rendered and written to the archive folder.

- 附件1 应急响应启动通知 on activation,
- 附件2 应急响应终止签报单 (three group opinions, signatures, the commander's instruction)
  when termination is approved,
- each information report (初报/续报/处理结果报告),
- a JSON dossier of the whole incident on close.
A drill's documents are marked 演练. Writing is idempotent: a retried activity rewrites
the same file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from activities.settings import ActivitySettings
from plan.calendar import SHANGHAI

DocKind = Literal["activation_notice", "termination_form", "info_report", "dossier"]


class Document(BaseModel):
    incident_id: str
    kind: DocKind
    seq: int  # the timeline entry it belongs to: orders the files and keeps names unique
    drill: bool = False
    data: dict


def _t(value: str | None) -> str:
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(SHANGHAI).strftime("%Y年%m月%d日%H时%M分")


def _bureau(plan_title: str) -> str:
    """The issuing bureau as the forms name it: 附件1/附件2 are titled 阳泉市生态环境局突发环境事件…,
    not the plan's title (…应急预案) followed by the same words again."""
    return plan_title.removesuffix("突发环境事件应急预案")


def render_activation_notice(d: dict) -> str:
    return "\n".join([
        f"# {_bureau(d['plan_title'])}突发环境事件应急响应启动通知",
        "",
        "市生态环境局突发环境事件应急指挥部",
        "",
        f"签发：{d['approved_by']}",
        "",
        f"{_t(d['discovered_at'])}，在我市{d['county']}境内，{d['location']}位置，发生一起{d['title']}事件。",
        "",
        f"经局突发环境事件应急指挥部总指挥批准，启动局应急预案{d['level']}级响应（{d['level_name']}）。"
        "请各成员单位按照本预案职责做好应急响应工作。",
        *( ["", f"响应级别与初判级别（{d['graded_level']}级）不同，理由：{d['reason']}"] if d.get("reason") else [] ),
        "",
        "市生态环境局突发环境事件应急指挥部",
        f"时间：{_t(d['at'])}",
        "",
        f"（依据：{d['plan_document_number']} 4.1、附件1）",
    ])


def render_termination_form(d: dict) -> str:
    lines = [
        f"# {_bureau(d['plan_title'])}突发环境事件应急响应终止签报单",
        "",
        "签报单位：局突发环境事件应急指挥部办公室",
        "",
        f"| 主办人 | {d['proposed_by']} | 时间 | {_t(d['proposed_at'])} |",
        "|---|---|---|---|",
        "| 签报标题 | 关于“突发环境事件应急响应终止”的通知 | | |",
        "",
        "## 签报事项",
    ]
    for s in d["signoffs"]:
        lines += [
            f"**{s['group_name']}意见：** {s.get('opinion') or '同意'}",
            "",
            f"组长签字：{s['lead']}　{_t(s['at'])}",
            "",
        ]
    lines += [
        "## 应急响应终止建议",
        d["condition"],
        "",
        f"提议理由：{d['reason']}",
        "",
        "## 局指挥部指挥批示",
        d.get("instruction") or "同意终止应急响应。",
        "",
        f"签字：{d['approved_by']}　{_t(d['approved_at'])}",
    ]
    if d.get("city_decision"):
        lines += ["", f"市指挥部决定（4.4）：{d['city_decision']}"]
    return "\n".join(lines)


REPORT_FIELDS = [
    ("time", "时间"), ("place", "地点"), ("source", "信息来源/污染源"), ("cause_and_nature", "事件起因和性质"),
    ("main_pollutants", "主要污染物和数量"), ("monitoring_data", "监测数据"), ("casualties", "人员受害情况"),
    ("drinking_water_sources_affected", "饮用水水源地受影响情况"), ("trend", "事件发展趋势"),
    ("actions_taken", "已采取的处置措施"), ("next_measures", "下一步工作建议"),
]


def render_info_report(d: dict) -> str:
    c = d["content"]
    lines = [
        f"# 突发环境事件信息{d['kind_name']}：{d['title']}",
        "",
        f"报送：{'、'.join(d['recipients'])}",
        f"报告人：{d['by']}　报告时间：{_t(d['at'])}",
    ]
    head = d.get("header")
    if head is not None:  # 17号令 第十四条
        if d.get("relayed_from"):
            lines.append(f"转报：{d['relayed_from']}（联动平台续报，非本局书面报告）")
        lines += [f"报告单位：{head.get('reporting_unit') or '（未填写）'}　报告签发人：{head.get('signed_by') or '（未填写）'}",
                  f"联系人：{head.get('contact_person') or '（未填写）'}　联系方式：{head.get('contact_phone') or '（未填写）'}"]
    lines += ["", "## 概况", c["summary"], ""]
    items = d.get("items")
    if items:  # what 17号令 第十三条 asks this kind of report for, each given or marked
        shown = {i["id"] for i in items}
        for i in items:
            lines += [f"## {i['label']}", c.get(i["id"]) or "（未报告）", ""]
        for key, label in REPORT_FIELDS:
            if key not in shown and c.get(key):
                lines += [f"## {label}", c[key], ""]
        return "\n".join(lines)
    for key, label in REPORT_FIELDS:
        if c.get(key):
            lines += [f"## {label}", c[key], ""]
    return "\n".join(lines)


RENDERERS = {
    "activation_notice": render_activation_notice,
    "termination_form": render_termination_form,
    "info_report": render_info_report,
}


class Archive:
    def __init__(self, settings: ActivitySettings):
        self.root = settings.archive_dir

    def folder(self, incident_id: str) -> Path:
        folder = self.root / incident_id
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def write(self, doc: Document) -> tuple[Path, str]:
        """Render and write one document; returns its path and the sha256 of its bytes."""
        folder = self.folder(doc.incident_id)
        if doc.kind == "dossier":
            path = folder / "dossier.json"
            data = dict(doc.data)
            if "timeline_tail" in data:  # the dossier's timeline is the archive's, whole
                data["timeline"] = merge_timeline(folder / TIMELINE, data.pop("timeline_tail"))
            text = json.dumps({"drill": doc.drill, **data}, ensure_ascii=False, indent=2, default=str)
        else:
            path = folder / f"{doc.seq:04d}-{doc.kind}.md"
            text = RENDERERS[doc.kind](doc.data)
            if doc.kind == "info_report":  # the full text, for its printed copy (delivery.py renders it)
                data = path.with_suffix(".json")
                tmp = data.with_suffix(".json.tmp")
                tmp.write_text(json.dumps({"drill": doc.drill, **doc.data}, ensure_ascii=False, default=str),
                               encoding="utf-8")
                os.replace(tmp, data)
            if doc.drill:
                text = "**【演练】本文件为应急演练文件**\n\n" + text.replace("# ", "# 【演练】", 1)
        body = (text + "\n").encode("utf-8")
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(body)
        os.replace(tmp, path)  # a reader never sees half a document
        return path, hashlib.sha256(body).hexdigest()

    def append_timeline(self, incident_id: str, entries: list[dict]) -> int:
        """Append timeline entries to the incident's timeline.jsonl, each seq once (a retried
        call adds nothing twice); returns the highest seq now in the file."""
        path = self.folder(incident_id) / TIMELINE
        have = _last_seq(path)
        new = [e for e in entries if e["seq"] > have]
        if new:
            with path.open("a", encoding="utf-8") as f:
                f.writelines(json.dumps(e, ensure_ascii=False, default=str) + "\n" for e in new)
            have = new[-1]["seq"]
        return have


TIMELINE = "timeline.jsonl"


def _last_seq(path: Path) -> int:
    if not path.exists():
        return 0
    last = 0
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line.strip():
                last = max(last, json.loads(line)["seq"])
    return last


def merge_timeline(path: Path, tail: list[dict]) -> list[dict]:
    """The archived entries followed by those the workflow still held."""
    entries = []
    if path.exists():
        entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    have = entries[-1]["seq"] if entries else 0
    return entries + [e for e in tail if e["seq"] > have]
