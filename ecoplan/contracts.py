"""The files people hand to ecoplan, as published contracts: the JSON Schema of each
(`ecoplan schema incident|assessment|report`) and the reference page docs/contracts.md,
both built from the pydantic models plus the meanings and units written down here. The
page also describes what an incident answers, its view (workflows/incident_view.py), from
the descriptions of the view's fields.

docs/contracts.md is generated: `python -m ecoplan.contracts > docs/contracts.md`
(a test fails when it is stale). The view's pinned JSON Schema is printed by
`python -m ecoplan.contracts --view-schema` (tests/contracts/incident_view.schema.json).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel

from plan.grading import Assessment
from plan.incident import MAX_NAME, MAX_PLACE, MAX_TEXT, MAX_TITLE, REPORT_KIND_NAMES, IncidentReport, ReportFile
from plan.loader import load_plan
from workflows.incident_view import VIEW_VERSION, IncidentLoading, IncidentView


def _counties() -> list[str]:
    c = load_plan().plan.counties
    return c.names if c else []


TIME = "ISO 8601 date and time, e.g. 2026-11-23T03:05 or 2026-11-23T03:05+08:00; without an offset it is Asia/Shanghai"

# field -> meaning (with unit); the allowed values' meanings are in VALUES.
FIELDS: dict[str, dict[str, str]] = {
    "incident": {
        "incident_id": "the incident's id; omitted: ecoplan makes one (YYYYMMDD-xxxxxx). Letters, digits, `.`, `_`, `-`; "
                       "at most 80 characters, starting with a letter or digit",
        "title": "事件名称, a short title",
        "discovered_at": f"when the incident happened or was discovered by anyone (发现时间), e.g. by the polluter. {TIME}",
        "reported_at": f"when the bureau discovered or learned of it (发现或者得知/接报时间); not before discovered_at. "
                       f"The initial-report deadline (4 h for 一般/较大, 2 h for 重大/特别重大 and the special "
                       f"circumstances, 17号令 第三条, 第四条) runs from it; it counts the incident into a day's or a "
                       f"period's report. {TIME}",
        "county": "县区 where it happened: one of the plan's counties (`counties` in the plan file; the shipped "
                  "plan's: " + "、".join(_counties()) + "); any other is refused",
        "location": "地点, as precise as known",
        "incident_type": "事件类型",
        "description": "事件经过, free text",
        "source": "信息来源: how the bureau learned of it",
        "reporter": "报告人: a person or a platform, e.g. 119指挥中心",
        "assessment": "what is known for grading (附表1): an object with the assessment fields below; omitted: nothing known",
        "drill": "true for a drill (演练): documents and notifications are marked 演练, views leave it out unless --drills",
        "plan": "the plan to run: a shipped plan id (yangquan-2022) or a path to a plan file; omitted: the shipped plan",
        "special_circumstances": "17号令 第四条 cases (a list of the values below): the level cannot be judged yet, but "
                                 "the reports go by the 重大/特别重大 procedure: the initial report within 2 h, to the "
                                 "ministry (生态环境部) as well. Also recorded later: `ecoplan circumstances ID "
                                 "--circumstance …` or `ecoplan report … --circumstance …`",
    },
    "assessment": {
        "deaths": "因环境污染直接导致死亡人数, persons (whole number)",
        "poisoned_or_injured": "中毒或重伤人数, persons (whole number)",
        "evacuated": "疏散、转移人员, persons (whole number)",
        "direct_loss_yuan": "直接经济损失, in yuan (元, not 万元): 5000000 is 500万元",
        "drinking_water_interrupted": "集中式饮用水水源地取水中断: the largest kind of source interrupted",
        "cross_boundary": "跨行政区域影响",
        "ecological_impact": "生态影响",
    },
    "report": {
        "summary": "概况: the one required field (a first report by phone may be sparse)",
        "time": "发生时间 as the report states it (free text)",
        "place": "地点",
        "source": "信息来源/污染源",
        "cause_and_nature": "事件起因和性质",
        "main_pollutants": "主要污染物和数量 (give the units with the numbers, e.g. 苯约2吨)",
        "monitoring_data": "监测数据 (with units, e.g. 苯 0.8 mg/L)",
        "casualties": "人员受害情况",
        "drinking_water_sources_affected": "饮用水水源地等环境敏感点受影响情况",
        "trend": "事件发展趋势",
        "actions_taken": "已采取的处置措施",
        "next_measures": "下一步工作建议 / 拟采取的措施",
        "basic_process": "基本过程 (初报)",
        "sensitive_points_map": "可能受影响的环境敏感点分布示意图 (初报): where the map is, e.g. a file name or link",
        "progress": "有关处置进展情况 (续报)",
        "measures_process_result": "处理突发环境事件的措施、过程和结果 (处理结果报告)",
        "potential_harm_and_losses": "潜在或者间接危害以及损失 (处理结果报告)",
        "social_impact": "社会影响 (处理结果报告)",
        "remaining_problems": "处理后的遗留问题 (处理结果报告)",
        "accountability": "责任追究 (处理结果报告)",
        "reporting_unit": "报告单位 (17号令 第十四条); omitted: the plan's (阳泉市生态环境局). --reporting-unit overrides",
        "signed_by": "报告签发人 (17号令 第十四条): required on every written report, here or with --signed-by",
        "contact_person": "联系人 (17号令 第十四条): required, here or with --contact-person",
        "contact_phone": "联系方式, a telephone number, e.g. 0353-2020000 (17号令 第十四条): required, here or "
                         "with --contact-phone",
        "fire_forces": "公安消防参战力量 (linkage bulletin, 郑环办〔2013〕84号 协议 二.3)",
        "fire_water_used": "消防水使用量 (with unit, e.g. 300 m³)",
        "hidden_dangers": "可能存在的隐患",
        "affected_area": "影响范围",
    },
}

# contract -> field -> value -> meaning
VALUES: dict[str, dict[str, dict[str, str]]] = {"incident": {
    "incident_type": {"water": "水污染", "air": "大气污染", "soil": "土壤污染", "hazardous_chemicals": "危险化学品",
                      "solid_waste": "固体废物", "other": "其他"},
    "source": {"hotline_12369": "12369环保热线", "linkage_119": "119联动（消防）", "inspection": "执法检查/巡查",
               "county_bureau": "县区分局报告", "other": "其他"},
}, "assessment": {
    "drinking_water_interrupted": {"none": "无", "township": "乡镇集中式饮用水水源地 (较大 III)",
                                   "county": "县级城市集中式饮用水水源地 (重大 II)",
                                   "city": "设区的市级以上城市集中式饮用水水源地 (特别重大 I)"},
    "cross_boundary": {"none": "无", "county_dispute": "跨县级行政区域纠纷，引起一般性群体事件 (一般 IV)",
                       "city": "跨设区的市级行政区域影响 (较大 III)", "province": "跨省级行政区域影响 (重大 II)"},
    "ecological_impact": {"none": "无", "protected_species_damaged": "国家重点保护的动植物物种受到破坏 (较大 III)",
                          "partial_function_loss": "区域生态功能部分丧失或国家重点保护野生动植物种群大批死亡 (重大 II)",
                          "function_loss_or_extinction": "区域生态功能丧失或国家重点保护物种灭绝 (特别重大 I)"},
}, "report": {}}
_special = load_plan().plan.reporting.special_circumstances
VALUES["incident"]["special_circumstances"] = {c.id: f"{c.name} ({c.source})" for c in _special.items} if _special else {}

CONTRACTS: dict[str, tuple[type[BaseModel], str, str]] = {
    "incident": (IncidentReport, "The incident report (事件报告)",
                 "the file `ecoplan start FILE` takes; the 12369/119 intake posts the same fields"),
    "assessment": (Assessment, "The assessment (分级依据, 附表1)",
                   "the file `ecoplan grade FILE` takes, and the `assessment` object of an incident report; "
                   "omitted fields count as none / zero; any one criterion sets the level and the most severe wins"),
    "report": (ReportFile, "The information report (初报/续报/处理结果报告)",
               "the file `ecoplan report ID --kind initial|progress|final --file FILE` takes "
               "(《突发环境事件信息报告办法》 第十二条, 第十三条 say what each kind contains, 第十四条 what every written "
               "report names; the plan's `reporting.kinds` lists the contents per kind, and a report's document "
               "marks each item not given)"),
}


def _describe(props: dict, contract: str) -> None:
    for name, prop in props.items():
        text = FIELDS[contract].get(name)
        if name in VALUES[contract]:
            text = f"{text}; values: " + ", ".join(f"{v} = {m}" for v, m in VALUES[contract][name].items())
        if text:
            prop["description"] = text
        if prop.get("format") == "date-time":
            # RFC 3339 date-time demands an offset; ecoplan reads a time without one as Asia/Shanghai.
            del prop["format"]
            prop["examples"] = ["2026-11-23T03:05", "2026-11-23T03:05+08:00"]


def schema(name: str) -> dict:
    """The JSON Schema (draft 2020-12) of a contract: incident, assessment or report."""
    model, title, what = CONTRACTS[name]
    s = model.model_json_schema()
    _describe(s["properties"], name)
    for def_name, d in s.get("$defs", {}).items():
        if def_name == "Assessment":
            _describe(d["properties"], "assessment")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **s, "title": title,
            "description": f"{title}: {what}."}


def _type(prop: dict) -> str:
    if "$ref" in prop:
        return "object"
    options = prop.get("anyOf") or [prop]
    kinds = [o.get("type") for o in options if o.get("type") != "null"]
    kind = {"string": "text", "integer": "whole number", "number": "number", "boolean": "true/false"}.get(
        kinds[0] if kinds else "", kinds[0] if kinds else "")
    if "enum" in prop:
        return "one of the values"
    if "examples" in prop:
        return "time"
    limit = next((o.get("maxLength") for o in options if o.get("maxLength")), None)
    if kind == "text" and limit:
        kind += f", ≤ {limit:,} characters"
    if "minimum" in prop or "maximum" in prop:
        kind += f", {_num(prop.get('minimum', 0))}–{_num(prop['maximum'])}" if "maximum" in prop else \
            f", ≥ {_num(prop['minimum'])}"
    return kind


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else str(x)


# The limits every entry enforces through the same models (plan/incident.py, the actions'
# inputs): the console, the API, the CLI and the 12369/119 intake (issue 22 item 8).
LIMITS = [
    "## Limits",
    "",
    "The console, the API, the CLI and the 12369/119 intake take every input through the same models",
    "(plan/incident.py, the actions' inputs in workflows/messages.py), so each limit holds in all four and a",
    "value over it is refused with one Chinese line naming the field as the forms label it (事件名称过长：最多 100 字,",
    "死亡人数不能为负数, 事件概况不能为空). Local choices, not the plan's or the law's:",
    "",
    "| what | limit | why |",
    "|---|---|---|",
    f"| title (事件名称; the intake's `title`) | ≤ {MAX_TITLE} characters | one line in lists, on the board and at the head "
    "of every document; real titles run 15–40 characters |",
    f"| place (`location`, a report's `place`; the intake's `location`) | ≤ {MAX_PLACE} characters | an address with its "
    "landmarks |",
    f"| long texts (事件概况, a report's items, opinions, notes, reasons) | ≤ {MAX_TEXT:,} characters | about three printed "
    "pages of the case file each; longer material is an attachment |",
    f"| names (a person, a unit, a county, a document number) | ≤ {MAX_NAME} characters | |",
    "| county (`county`) | one of the plan's `counties` | a typed county (`<i>城区</i>`) must not open a new county on "
    "the board; refused where a report enters (ecoplan.api.start_incident) |",
    "| head counts (`deaths`, `poisoned_or_injured`, `evacuated`) | whole numbers, 0–10,000,000 (evacuated "
    "0–100,000,000) | a count below 0 is refused naming the field (死亡人数不能为负数) |",
    "| `direct_loss_yuan` | 0–100,000,000,000,000 yuan | |",
    "| times | 2000-01-01 to 2100-01-01; a start report not over 5 minutes ahead of the receiving clock | no real "
    "incident lies outside; the deadline arithmetic would overflow |",
]


def limits() -> list[str]:
    """The Limits section; the console's own limits are read where they are enforced (lazily:
    the list and the roster import bring Temporal's client and the XLSX reader)."""
    from ecoplan.body_limit import MAX_BODY_BYTES
    from ecoplan.duty_import import MAX_ROWS as MAX_ROSTER_ROWS
    from ecoplan.duty_roster import MAX_NOTES as MAX_HANDOVER
    from ecoplan.incident_list import MAX_EXPORT, MAX_PER_PAGE, MAX_TEXT as MAX_SEARCH

    return LIMITS + [
        f"| a request's body (the console's forms, the API, the intake) | ≤ {MAX_BODY_BYTES:,} bytes, chunked or not "
        "(ecoplan/body_limit.py) | a report or an action is a few kB; refused with 413 before it is read |",
        f"| the incident list's search text (`q`) | ≤ {MAX_SEARCH} characters | a title or a place is searched, not a document |",
        f"| the incident list's page (`per_page`) | 1–{MAX_PER_PAGE} rows; an export ≤ {MAX_EXPORT:,} rows | the API's other "
        "number parameters (`limit`) take 1–10,000 |",
        f"| a duty roster import | ≤ {MAX_ROSTER_ROWS:,} rows; a handover note ≤ {MAX_HANDOVER:,} characters | a year of "
        "three shifts a day; a note is a paragraph |",
        "",
    ]


def render_markdown() -> str:
    lines = [
        "# Contracts: the files you give ecoplan",
        "",
        "<!-- generated by `python -m ecoplan.contracts > docs/contracts.md`; edit ecoplan/contracts.py -->",
        "",
        "Every file is JSON or YAML. Unknown fields are refused (a typo is an error, not ignored);",
        f"text fields hold at most {MAX_TEXT:,} characters, names at most 200. The JSON Schema of each is printed by",
        "`ecoplan schema incident`, `ecoplan schema assessment` and `ecoplan schema report`.",
        "",
        *limits(),
    ]
    for name, (model, title, what) in CONTRACTS.items():
        s = schema(name)
        required = set(s.get("required", []))
        lines += [f"## {title} — `ecoplan schema {name}`", "", f"{what[0].upper()}{what[1:]}.", "",
                  "| field | required | type | meaning, unit |", "|---|---|---|---|"]
        for field, prop in s["properties"].items():
            default = prop.get("default")
            req = "yes" if field in required else f"no (default {json.dumps(default, ensure_ascii=False)})" \
                if default not in (None, "") else "no"
            meaning = FIELDS[name].get(field, "")
            lines.append(f"| `{field}` | {req} | {_type(prop)} | {meaning} |")
        for field, meanings in VALUES[name].items():
            lines += ["", f"`{field}` values:", "", "| value | meaning |", "|---|---|",
                      *(f"| `{v}` | {m} |" for v, m in meanings.items())]
        lines.append("")
    plan = load_plan().plan  # the shipped plan: another plan file may name other actions and groups
    listed = lambda pairs: ", ".join(f"`{k}` {v}" for k, v in pairs)  # noqa: E731
    lines += [
        "## Other allowed values",
        "",
        "| where | values |",
        "|---|---|",
        "| `--level` (activate, adjust-level, list: the response level 响应级别), `list --closed --event-level` "
        "(the event level 事件等级) | "
        + listed((lv.id.value, lv.name) for lv in sorted(plan.levels, key=lambda lv: -lv.id.rank)) + " |",
        "| `ecoplan report --kind` | " + listed(REPORT_KIND_NAMES.items()) + " |",
        f"| `ecoplan warn --action` ({plan.id}, 3.2) | " + listed((a.id, a.name) for a in plan.warning.actions) + " |",
        f"| `ecoplan sign-off --group` ({plan.id}, 附件2) | "
        + listed((g, plan.group(g).name) for g in plan.termination.signatories) + " |",
        "| `ecoplan cross-boundary --scope` (4.2.3) | " + listed(list(VALUES["assessment"]["cross_boundary"].items())[1:])
        + " |",
        "| `ecoplan list --closed --outcome` | `completed` closed after post-event work (5.x), "
        "`warning_lifted` 预警解除 (3.3) |",
        "",
    ]
    lines += HANDOVER
    lines += _view_markdown()
    return "\n".join(lines)


# What a client sending actions by name (the Temporal client, the `temporal` CLI, another
# system) can rely on while an incident continues as new (issue 25, item 7).
HANDOVER = [
    "## Actions by name, and the run's hand-over",
    "",
    "Each action is a Workflow Update named as the action (`submit_report`, `sign_off`, ...: the names of the action registry, workflows/actions/), "
    "sent to the workflow id `incident-<incident id>` without a run id, its input the action's JSON. A refusal is "
    "an update failure whose cause is an `ApplicationError` of type `Refused`, its first detail the kind "
    "(`forbidden`, `conflict`, `invalid`); nothing was applied, and sending it again gets the same refusal.",
    "",
    "A long incident continues as new (a new run under the same workflow id, when Temporal suggests it). An action "
    "sent meanwhile is applied exactly once, in the old run or the new, and answered as usual: the client does "
    "not resend it and sees no refusal. The incident continues as new only in a workflow task in which every "
    "action it accepted has finished; an update the server holds while that task runs was never seen by the old "
    "run, and the server aborts it with a retryable error that the client SDK and the CLI retry on the new run "
    "(Temporal server 1.25 and later; here the dev server of temporal CLI 1.9.1, server 1.32.0). Temporal "
    "dedupes update ids within a run; the incident also remembers the ids of its newest 20 actions across runs, "
    "so the same id sent again (a client's retry, or the server's after the hand-over, temporalio/temporal#6375) "
    "answers what it answered the first time and applies nothing. Measured: BENCHMARKS.md, \"The run's "
    "hand-over\"; tested with raw updates and the `temporal` CLI (tests/test_long_incident.py).",
    "",
    "What a client can still meet are the server's per-run limits and a failed workflow task. Each is answered by "
    "sending the action again under the same update id: an id the incident has applied answers what it answered, "
    "applied once.",
    "",
    "| error (gRPC status) | when | what to do |",
    "|---|---|---|",
    "| `RESOURCE_EXHAUSTED`, cause `BUSY_WORKFLOW`: \"workflow is closing\" | the server's own retries of an "
    "update held during a hand-over ran out (not seen in the benchmark) | send it again with the same update id |",
    "| `FAILED_PRECONDITION`, details `WorkflowNotReady`: \"unexpected workflow task failure\" | the workflow "
    "task that held the update failed or timed out (a worker overloaded or restarted), not the hand-over | send it "
    "again with the same update id |",
    "| an update failure whose cause is not of type `Refused`: \"Workflow Update is rejected because it wasn't "
    "processed by worker\" | the server gave the update to a workflow task whose completion did not answer it "
    "(seen once in 2,594 actions of the chaos soak, with workers killed and the server restarted under load); "
    "nothing was applied | send it again with the same update id (`ecoplan.api.act` does, up to 4 times) |",
    "| `RESOURCE_EXHAUSTED`, cause `CONCURRENT_LIMIT` | more than 10 updates in flight on one incident "
    "(`history.maxInFlightUpdates`) | send it again with the same update id |",
    "| `FAILED_PRECONDITION`: \"limit on the total number of distinct updates\" | more than 2,000 updates in one "
    "run (`history.maxTotalUpdates`); the incident continues as new when Temporal suggests it, at 90 % of that, "
    "unless what it must carry is over 1.5 MB (deliveries far behind a stream of long reports): it delivers first | "
    "send it again with the same update id once the incident has continued as new |",
    "",
]


# ---------------------------------------------------------------- the incident view

# Keys a reader may meet since the view was introduced (view_version 1); a key renamed or
# removed would be listed here with its version.
VIEW_CHANGES = [
    "`view_version` and `loading` (false) were added to every answer; the loading answer gained `view_version`.",
    "`closed_at` (set once closed) was added. The markers of an answer from elsewhere (`from_records`, "
    "`closed_record`, `archive_paths` from the records store, `from_dossier` from the dossier reader), which the CLI "
    "and the documents read, are fields of the view, left out of the incident's own answer as before.",
    "A record's optional key is always present (null when not set), where the status used to leave it out: "
    "`reports[]` header keys and `recipients`, `termination`'s approval keys while pending, `faults[]` "
    "`error`/`count`/`last`, `documents[]` `format`, `linkage.support_requests_made`.",
    "No key was renamed or removed.",
]


def view_schema() -> dict:
    """The JSON Schema of IncidentView, as tests/contracts/incident_view.schema.json pins it."""
    return IncidentView.model_json_schema()


def _view_type(prop: dict) -> str:
    """A field's type in words, with the view's parts named (each has its table below)."""
    if "$ref" in prop:
        return f"`{prop['$ref'].rsplit('/', 1)[-1]}`"
    if "anyOf" in prop:
        kinds = [_view_type(o) for o in prop["anyOf"] if o.get("type") != "null"]
        nullable = any(o.get("type") == "null" for o in prop["anyOf"])
        return " or ".join(kinds) + (" or null" if nullable else "")
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type")
    if kind == "array":
        return f"list of {_view_type(prop.get('items', {}))}"
    if kind == "object":
        extra = prop.get("additionalProperties")
        return f"map of text → {_view_type(extra)}" if isinstance(extra, dict) else "object"
    if kind == "null":
        return "`null`"
    if kind == "string":
        return {"date-time": "time", "date": "date"}.get(prop.get("format", ""), "text")
    return {"integer": "whole number", "number": "number", "boolean": "true/false"}.get(kind or "", "any")


def _view_table(s: dict) -> list[str]:
    required = set(s.get("required", []))
    out = ["| field | required | type | meaning |", "|---|---|---|---|"]
    for field, prop in s["properties"].items():
        req = "yes" if field in required else f"no (default {json.dumps(prop.get('default'), ensure_ascii=False)})"
        out.append(f"| `{field}` | {req} | {_view_type(prop)} | {prop.get('description', '')} |")
    return out


def _view_markdown() -> list[str]:
    s = view_schema()
    loading = IncidentLoading.model_json_schema()
    lines = [
        "## What an incident answers: the incident view — `IncidentView`",
        "",
        "The `status` query's answer: `ecoplan status ID --json`, `GET /api/incidents/{id}`, the records store, "
        "the documents, the console and the archive's `dossier.json` (the same answer, with the whole timeline) "
        "all read it. It is built field by field from the incident's internal state (workflows/status.py), so the "
        "state may change freely; within a `view_version` this shape only gains fields. Unknown keys are refused "
        "when it is read back (`workflows.incident_view.parse_status`). Times are ISO 8601 with an offset. "
        f"Current `view_version`: {VIEW_VERSION}. JSON Schema: `tests/contracts/incident_view.schema.json` "
        "(`python -m ecoplan.contracts --view-schema`).",
        "",
        "Every answer has every field of its version (null when it has no value), but the markers of an answer "
        "from elsewhere (`from_records`, `closed_record`, `archive_paths`, `from_dossier`), there only when set. "
        "\"required: no\" marks a field an answer stored before it existed (an older dossier) may lack: reading "
        "it gives the default.",
        "",
        *_view_table(s),
        "",
        "### While loading — `IncidentLoading`",
        "",
        f"{IncidentLoading.__doc__} `ecoplan status` says so; actions are refused until it has loaded.",
        "",
        *_view_table(loading),
        "",
    ]
    for name, part in s.get("$defs", {}).items():
        lines += [f"### `{name}`", "", " ".join((part.get("description") or "").split()), "", *_view_table(part), ""]
    lines += ["### Changes", "", *(f"- {c}" for c in VIEW_CHANGES), ""]
    return lines


def _main() -> Any:
    if sys.argv[1:] == ["--view-schema"]:
        print(json.dumps(view_schema(), ensure_ascii=False, indent=2))
        return
    print(render_markdown(), end="")


if __name__ == "__main__":
    _main()
