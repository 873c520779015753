"""From an alert to the incident it starts or the progress report (续报) it adds."""

from __future__ import annotations

import hashlib

from ecoplan.intake.alert import Alert, Casualties, FireInfo
from ecoplan.intake.common import _ID_SAFE, PLATFORM_CODE, PLATFORMS, TYPE_LABEL
from plan.grading import Assessment
from plan.incident import MAX_TEXT, Actor, IncidentReport, ReportContent
from workflows.messages import SubmitReport


# ------------------------------------------------------------------ ids, tokens


def incident_id_for(platform: str, alert_id: str) -> str:
    """The incident id of a platform's alert: deterministic, and it fits IncidentReport's id
    pattern. "12369-<alert_id>" when the alert id is id-safe and short enough, else
    "12369.<sha256 prefix>" (a different separator, so the two forms never collide)."""
    code = PLATFORM_CODE[platform]
    alert_id = alert_id.strip()
    plain = f"{code}-{alert_id}"
    if _ID_SAFE.match(alert_id) and len(plain) <= 80:
        return plain
    return f"{code}.{hashlib.sha256(alert_id.encode()).hexdigest()[:32]}"


def progress_marker(platform: str, alert_id: str) -> str:
    """The prefix of a progress report's summary that records which alert it came from."""
    return f"[alert {incident_id_for(platform, alert_id)}]"


# ------------------------------------------------------------------ mapping


def _truncate(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _casualties_text(c: Casualties | None) -> str | None:
    if c is None:
        return None
    return "；".join(filter(None, [f"死亡{c.deaths}人，受伤/中毒{c.injured}人", c.note]))


def _fire_lines(f: FireInfo | None) -> list[str]:
    if f is None:
        return []
    return [s for s in [f.forces and f"消防参战力量：{f.forces}",
                        f.water_used_m3 is not None and f"消防水使用量：{f.water_used_m3:g} m³",
                        f.note and f"消防情况：{f.note}"] if s]


def _detail_lines(a: Alert) -> list[str]:
    return [s for s in [
        a.reporter_phone and f"联系电话：{a.reporter_phone}",
        a.cause and f"初步原因：{a.cause}",
        a.casualties and f"人员伤亡：{_casualties_text(a.casualties)}",
        *_fire_lines(a.fire),
        a.impact and f"影响情况：{a.impact}",
        a.hazards and f"可能存在的隐患：{a.hazards}",
        a.monitoring_data and f"监测数据：{a.monitoring_data}",
        a.trend and f"发展趋势：{a.trend}",
        a.actions_taken and f"已采取措施：{a.actions_taken}",
    ] if s]


def incident_report(platform: str, alert: Alert) -> IncidentReport:
    """The start report of the incident a new alert opens."""
    code = PLATFORM_CODE[platform]
    title = alert.title or f"{alert.county[:20]}{alert.location[:40]}{TYPE_LABEL[alert.incident_type]}（{code}接警）"
    source_line = f"来源：{PLATFORMS[platform]}，接警单号 {alert.alert_id}，接警时间 {alert.received_at.isoformat()}"
    description = "\n".join(filter(None, [alert.description.strip(), *_detail_lines(alert), source_line]))
    assessment = alert.assessment or Assessment()
    if alert.casualties:
        assessment = assessment.model_copy(update={
            "deaths": max(assessment.deaths, alert.casualties.deaths),
            "poisoned_or_injured": max(assessment.poisoned_or_injured, alert.casualties.injured)})
    return IncidentReport(
        incident_id=incident_id_for(platform, alert.alert_id), title=title,
        discovered_at=alert.discovered_at or alert.received_at, reported_at=alert.received_at,
        county=alert.county, location=alert.location, incident_type=alert.incident_type,
        description=_truncate(description), source=platform, reporter=alert.reporter,
        assessment=assessment, drill=alert.drill)


def progress_report(platform: str, alert: Alert) -> SubmitReport:
    """The progress report (续报) an alert about an existing incident becomes. Its summary
    starts with the alert's marker: that is the record that keeps it idempotent."""
    head = f"{progress_marker(platform, alert.alert_id)} {PLATFORMS[platform]}续报"
    body = "：".join(filter(None, [alert.title, alert.description.strip()]))
    extra = [s for s in [
        alert.reporter and f"报告人：{alert.reporter}",
        alert.incident_type and f"类型：{TYPE_LABEL[alert.incident_type]}",
        alert.impact and f"影响情况：{alert.impact}",
        alert.hazards and f"可能存在的隐患：{alert.hazards}",
        *_fire_lines(alert.fire),
        alert.assessment and "分级要素：" + "，".join(
            f"{k}={v}" for k, v in alert.assessment.model_dump().items() if v not in (0, "none")),
    ] if s]
    summary = "\n".join([f"{head}：{body}" if body else head, *extra])
    place = "".join(filter(None, [alert.county, alert.location])) or None
    content = ReportContent(
        summary=_truncate(summary), time=alert.received_at.isoformat(), place=place, source=alert.cause,
        monitoring_data=alert.monitoring_data, casualties=_casualties_text(alert.casualties),
        trend=alert.trend, actions_taken=alert.actions_taken)
    return SubmitReport(by=platform_actor(platform), kind="progress", content=content,
                        relayed_from=PLATFORMS[platform])


def platform_actor(platform: str) -> Actor:
    """A linkage platform as the workflow records it: the token's platform name, acting as
    the plan's linkage partner (联动单位) through the intake (authority table: intake_report)."""
    from plan import authority

    spec = authority.role("partner")
    return Actor(name=platform, role=spec.name if spec else "联动单位", role_id="partner", via="intake")
