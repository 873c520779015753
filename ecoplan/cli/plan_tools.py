"""The plan tools: `ecoplan grade`, `plan check`, `drill start|report`, and the services
`server` (the embedded Temporal dev server) and `intake` (the 12369/119 HTTP intake).
`calendar …` is in ecoplan/cli/calendar.py, `web` in ecoplan/web/command.py."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

import typer

from ecoplan import server as embedded
from ecoplan.cli.common import ByOpt, JsonOpt, RoleOpt, actor, cli_user, emit, parse, read_data, run
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import Fail, bad
from plan.check import SEVERITY_NAMES, check_plan
from plan.drill import evaluate, render_markdown
from plan.grading import Assessment, classify
from plan.loader import PlanError, load_plan
from plan.scenarios import ScenarioError, load_scenario

app = Typer()
plan_app = Typer(no_args_is_help=True, help="预案文件。")
drill_app = Typer(no_args_is_help=True, help="演练（种子 003）。")
app.add_typer(plan_app, name="plan")
app.add_typer(drill_app, name="drill")


@app.command()
def grade(file: str = typer.Argument(..., help="评估文件（JSON/YAML），各字段均可不填：deaths、poisoned_or_injured、"
                                      "evacuated（人）；direct_loss_yuan（元，不是万元）；drinking_water_interrupted："
                                      "none | township | county | city；cross_boundary：none | county_dispute | city | "
                                      "province；ecological_impact：none | protected_species_damaged | "
                                      "partial_function_loss | function_loss_or_extinction。也可给事件报告文件。"
                                      "详见 `ecoplan schema assessment` 和 docs/contracts.md"),
          plan: Optional[str] = typer.Option(None, "--plan", help="预案标识或路径"), as_json: bool = JsonOpt):
    """按附表1分级：给出I–IV级及理由。"""
    data = read_data(file)
    if "assessment" in data and isinstance(data["assessment"], dict):
        data = data["assessment"]  # an incident report file works too
    a = parse(Assessment, data)
    try:
        loaded = load_plan(plan)
    except PlanError as e:
        raise bad(str(e)) from None
    g = classify(a, loaded.plan)
    emit(g, as_json, lambda d: f"{d['level']}级（{d['level_name']}）\n" + "\n".join(f"  - {r}" for r in d["reasons"]))


@plan_app.command("check")
def plan_check(plan: Optional[str] = typer.Option(None, "--plan", help="预案标识或路径"), as_json: bool = JsonOpt):
    """检查预案文件并列出问题（有错误时退出码为2；只有警告时为0）。"""
    loaded, problems = check_plan(plan)
    out = {"plan": loaded.ref if loaded else None, "problems": [p.model_dump() for p in problems]}
    def text(d):
        head = (f"预案 {d['plan']['id']}（版本 {d['plan']['version']}，{d['plan']['hash'][:19]}）" if d["plan"]
                else "预案未能加载")
        return "\n".join([head, *(f"{SEVERITY_NAMES[p['severity']]}：{p['where']}：{p['message']}"
                                  for p in d["problems"])])
    emit(out, as_json, text)
    if any(p.severity == "error" for p in problems):
        raise Fail("", 2)


@app.command()
def server(port: int = typer.Option(7233, "--port", help="Temporal 服务端口"),
           ui_port: int = typer.Option(8233, "--ui-port", help="Temporal 网页界面端口"),
           db: Optional[str] = typer.Option(None, "--db", help="SQLite 数据文件（重启后保留；默认："
                                             "$ECOPLAN_HOME/temporal.db）")):
    """在前台运行内置的 Temporal 开发服务器（按 Ctrl-C 或收到 SIGTERM、SIGHUP 时停止）。"""
    code, stopped_by = embedded.run_dev_server(port=port, ui_port=ui_port, db=db or embedded.default_db())
    if stopped_by is None and code != 0:
        raise Fail(f"Temporal 开发服务器已退出，退出码 {code}")
    if code == -signal.SIGKILL:
        raise Fail("Temporal 开发服务器未能按时停止，已强行终止")


@drill_app.command("start")
def drill_start(scenario: str = typer.Argument(..., help="plan/scenarios/ 中的情景标识，或情景文件路径"),
                participants: list[str] = typer.Option([], "--participants", help="演练参与人：用户名或姓名，逗号分隔；"
                                                       "只呼叫参与人，发起人总是参与"),
                by: Optional[str] = ByOpt, role: Optional[str] = RoleOpt, as_json: bool = JsonOpt):
    """按情景文件启动一起标为演练的事件；输出事件编号。演练的呼叫只发给参与人（各事项本应通知的人中的参与人）。"""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help
    from ecoplan import people
    from ecoplan.accounts import AccountError, AccountStore, store_target
    from plan.incident import Actor

    try:
        sc = load_scenario(scenario)
    except ScenarioError as e:
        raise bad(str(e)) from None
    who = by or cli_user()
    started_by = Actor(**actor(who, role, "start_incident")) if who and who.strip() else None
    target = store_target()
    try:  # no accounts file (the CLI alone): every participant named is unknown
        store = None if isinstance(target, Path) and not target.exists() else AccountStore(target)
        named, why = people.drill_participants(store, participants, started_by.name if started_by else None)
    except AccountError as e:
        raise bad(str(e)) from None
    if why:
        raise bad(why)
    iid = run(api.start_incident, sc.incident_report(), api.TASK_QUEUE, 30.0, started_by, named)
    emit({"incident_id": iid, "scenario": sc.id}, as_json, lambda d: d["incident_id"])


@drill_app.command("report")
def drill_report(incident_id: str, as_json: bool = JsonOpt):
    """演练的事后评估（种子 003），以 Markdown 或 JSON 输出。"""
    from ecoplan import api  # lazy: with temporalio and the workflow (~1 s), not needed for --help

    st = run(api.status, incident_id)
    if not st.get("drill"):
        raise Fail(f"事件 {incident_id} 不是演练")
    emit(evaluate(st), as_json, render_markdown)


@app.command()
def intake(host: str = typer.Option("127.0.0.1", "--host", help="监听地址"),
           port: int = typer.Option(8080, "--port", help="监听端口")):
    """12369 和 119 平台的 HTTP 接入服务（OpenAPI 描述在 /openapi.json，接口文档在 /docs）。"""
    from ecoplan import intake as service  # lazy: FastAPI and the client API (~1.5 s)

    service.serve(host=host, port=port)
