"""A closed incident in the console (`/records/ID`), read-only, from the bureau's records
store: Temporal forgets a closed incident after its retention, the store keeps its last
status (ecoplan/records.py `status_of`) and the archive its filed documents, which the page
lists for download (`/records/ID/documents/NAME`) beside the deadline chart drawn from the
record."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from ecoplan.records import status_of
from ecoplan.web import actions as act
from ecoplan.web import documents as webdocs
from ecoplan.web.context import STAGE_NAMES, log, now, to_login, web_of
from ecoplan.web.routes.incident_list import records_db
from plan import authority
from plan.loader import load_plan

router = APIRouter()

MEDIA = {".pdf": "application/pdf", ".svg": "image/svg+xml", ".png": "image/png", ".json": "application/json",
         ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def read_record(request: Request, account, incident_id: str) -> dict:
    """The stored status, for the accounts that may read the incident (as its open page)."""
    reads = authority.reads(account.role)
    if reads not in ("all", "led"):
        spec = authority.role(account.role)
        raise act.Refusal(403, f"{spec.name if spec else account.role}不能查看事件详情")
    st = status_of(incident_id, records_db(request))
    if st is None:
        raise act.Refusal(404, f"档案中没有事件 {incident_id}")
    if reads == "led" and account.username not in (st.get("leads") or {}).values():
        raise act.Refusal(403, "只能查看派遣时被指定为组长的事件")
    return st


def archived(st: dict) -> list[tuple[str, str]]:
    """The archive's files of the incident: (file name, label), labelled as the open page
    labels its documents where the names match."""
    labels = dict(webdocs.listing(st)["papers"]) if st.get("timeline") else {}
    labels["dossier.json"] = "事件档案数据（JSON）"
    return [(Path(p).name, labels.get(Path(p).name, "数据文件（JSON）" if p.endswith(".json") else Path(p).name))
            for p in st.get("archive_paths") or [] if Path(p).suffix in MEDIA]


@router.get("/records/{incident_id}", include_in_schema=False)
async def closed_page(request: Request, incident_id: str):
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    st = await asyncio.to_thread(read_record, request, s.account, incident_id)
    papers = await asyncio.to_thread(webdocs.listing, st)
    labels = {}
    for g, u in (st.get("leads") or {}).items():
        a = w.store.get(u)
        labels[g] = a.label if a else u
    return w.page(request, "closed_incident.html", {
        "_session": s, "st": st, "now": now(), "provisional_note": "", "lead_labels": labels,
        "groups": {g.id: g.name for g in load_plan().plan.groups}, "files": await asyncio.to_thread(archived, st),
        "chart_svg": papers["chart_svg"], "chart_error": papers["chart_error"],
        "stages": [x for x in STAGE_NAMES if x != "warning" or st.get("warning")]})


@router.get("/records/{incident_id}/documents/{name}", include_in_schema=False)
async def closed_document(request: Request, incident_id: str, name: str):
    """One filed document from the archive, by its file name as the page lists it."""
    w = web_of(request)
    s = w.session(request)
    if s is None:
        return to_login(request)
    st = await asyncio.to_thread(read_record, request, s.account, incident_id)
    path = next((Path(p) for p in st.get("archive_paths") or [] if Path(p).name == name), None)
    if path is None or path.suffix not in MEDIA or not path.is_file():
        raise act.Refusal(404, f"事件 {incident_id} 的档案中没有文件 {name}")
    log.info("web_document", username=s.account.username, incident_id=incident_id, document=name, source="archive")
    return FileResponse(path, media_type=MEDIA[path.suffix], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(incident_id + '-' + name)}"})
