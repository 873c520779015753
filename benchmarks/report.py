"""Render a results file (benchmarks/results/latest.json) as the Markdown tables BENCHMARKS.md
shows, goals beside figures, so the document is copied from a run, never typed in.

    python -m benchmarks.report [benchmarks/results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DEFAULT = Path(__file__).resolve().parent / "results" / "latest.json"


def _f(x, digits: int = 1) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:,.{digits}f}"
    return f"{x:,}"


def _met(ok) -> str:
    return "met" if ok else "**missed**"


def lifecycle_rows(lc: dict) -> list[str]:
    """Rows 1 (against the bare baseline), 1b (the same-work one), 1c (workflow-task CPU)."""
    out = [f"| 1 | life cycle, {lc['incidents']} incidents concurrently | {_f(lc['ecoplan_incidents_per_s'], 2)} incidents/s "
           f"({_f(lc['ecoplan_ms_per_incident'])} ms each) | {_f(lc['baseline_incidents_per_s'], 2)} incidents/s "
           f"({_f(lc['baseline_ms_per_incident'])} ms each) | {_f(lc['ratio'], 2)} (CPU {_f(lc['cpu_ratio'], 2)}) "
           f"| ≤ {lc['goal_ratio_max']} | {_met(lc['goal_met'])} |"]
    if lc.get("ratio_same_work") is not None:
        out.append(f"| 1b | the same, against the same-work baseline | {_f(lc['ecoplan_ms_per_incident'])} ms each "
                   f"| {_f(lc['same_work_ms_per_incident'])} ms each | {_f(lc['ratio_same_work'], 2)} "
                   f"(CPU {_f(lc['cpu_ratio_same_work'], 2)}) | ≤ {lc['goal_ratio_same_work_max']} "
                   f"| {_met(lc['goal_same_work_met'])} |")
        top = lc["by_size"][-1]
        out.append(f"| 1c | workflow-task CPU per incident (orchestration) | {_f(top['ecoplan']['orchestration_cpu_ms_per_incident'])} ms "
                   f"| {_f(top['baseline']['orchestration_cpu_ms_per_incident'])} ms | {_f(lc['orchestration_ratio'], 2)} "
                   f"| ≤ {lc['goal_orchestration_ratio_max']} | {_met(lc['goal_orchestration_met'])} |")
    return out


def render(r: dict) -> str:
    m = r["machine"]
    out = [f"Run `{r['profile']}` started {r['started_at']} (UTC), {r['duration_s']:.0f} s; "
           f"{m['cpu_count']} CPUs, {m.get('mem_total_mb')} MB, Python {m['python']}, temporalio {m['temporalio']}, "
           f"{m['temporal_cli'].splitlines()[0]}; load average at start {', '.join(f'{x:.1f}' for x in m['loadavg_start'])}"
           f", at end {', '.join(f'{x:.1f}' for x in m.get('loadavg_end', []))}; bytecode cache {m.get('bytecode_cache')}.",
           "", "| # | measure | ecoplan | bare Temporal baseline | ratio | goal | |", "|---|---|---|---|---|---|---|"]
    lc = r.get("lifecycle")
    out += lifecycle_rows(lc) if lc else []
    so = r.get("signoff_latency")
    if so:
        out.append(f"| 2 | sign-off update round trip ({so['samples']} samples) | p50 {_f(so['p50_ms'])} ms, p95 {_f(so['p95_ms'])} ms "
                   f"| no-op update p50 {_f(so['baseline_p50_ms'])} ms, p95 {_f(so['baseline_p95_ms'])} ms "
                   f"| p50 {_f(so['ratio'], 2)}, p95 {_f(so['p95_ratio'], 2)} | p50 ≤ {so['goal_p50_ratio_max']}× | {_met(so['goal_met'])} |")
    sq = r.get("supervisor_queries")
    if sq:
        top = sq["by_size"][-1]
        out.append(f"| 3 | `overdue` over {sq['open_incidents']:,} open, the CLI's default "
                   f"(the {top['overdue']['rows']:,} most late of {top['overdue'].get('total') or 0:,} overdue incidents) "
                   f"| p50 {_f(sq['overdue_p50_ms'])} ms, p95 {_f(sq['overdue_p95_ms'])} ms "
                   f"| bare `Running` list ({top['bare_list']['rows']:,} rows) p95 {_f(sq['baseline_p95_ms'])} ms "
                   f"| {_f(sq['ratio'], 2)} | p95 ≤ {sq['goal_overdue_p95_ms_max']:.0f} ms and ≤ {sq['goal_ratio_max']}× "
                   f"| {_met(sq['goal_met'])} |")
    if sq and sq.get("board_p95_ms") is not None:
        out.append(f"| 3b | 总览 board (`GET /board/live`, a supervisor's session) over {sq['open_incidents']:,} open "
                   f"| p50 {_f(sq['board_p50_ms'])} ms, p95 {_f(sq['board_p95_ms'])} ms | — | — "
                   f"| p95 ≤ {sq['goal_board_p95_ms_max']:.0f} ms | {_met(sq['board_goal_met'])} |")
    wm = r.get("worker_memory")
    if wm:
        out.append(f"| 4 | worker peak RSS, {wm['open_incidents']:,} open | {_f(wm['peak_rss_mb'])} MB "
                   f"(after the first incident {_f(wm['rss_after_first_incident_mb'])} MB) | — | — "
                   f"| ≤ {wm['goal_peak_rss_mb_max']:.0f} MB | {_met(wm['goal_met'])} |")
    uw = r.get("user_waits")
    out += replay_rows(r.get("replay"))
    if uw:
        out += waits_rows(uw)
    g = r.get("growth", {})
    if g.get("lifecycle"):
        out += ["", "Growth, life cycle:", "",
                "| incidents | ecoplan incidents/s | baseline incidents/s | ratio (wall) | ratio (CPU) |",
                "|---|---|---|---|---|"]
        for s in g["lifecycle"]:
            out.append(f"| {s['incidents']} | {_f(s['ecoplan_incidents_per_s'], 2)} | {_f(s['baseline_incidents_per_s'], 2)} "
                       f"| {_f(s['ratio'], 2)} | {_f(s['cpu_ratio'], 2)} |")
    if sq:
        def cell(f: dict, k: str) -> str:
            return f"{_f(f[k]['p95_ms'])} ({f[k]['rows']:,})" if k in f else "—"

        out += ["", "Growth, supervisor views (p95 ms; rows shown in brackets) and worker RSS. The CLI's default "
                "shows the 50 most urgent rows; `--all` shows every one:", "",
                "| open | overdue | stuck | list | board | overdue --all | same query, bare | stuck --all | list --all "
                "| bare `Running` list | overdue / bare list | worker RSS MB | time to open |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for s in sq["by_size"]:
            out.append(f"| {s['open_incidents']:,} | {cell(s, 'overdue')} | {cell(s, 'stuck')} | {cell(s, 'list')} "
                       f"| {_f(s['board']['p95_ms']) if 'board' in s else '—'} "
                       f"| {cell(s, 'overdue_all')} | {cell(s, 'bare_overdue_list')} | {cell(s, 'stuck_all')} "
                       f"| {cell(s, 'list_all')} | {cell(s, 'bare_list')} | {_f(s['overdue_vs_bare_p95'], 2)} "
                       f"| {_f(s['worker_rss_mb'])} | {_f(s['populate_s'])} s |")
    if uw:
        out += waits_growth(uw)
    if lc and lc.get("cpu_split_ms_per_incident"):
        out += ["", "", *cpu_split(lc["cpu_split_ms_per_incident"])]
    if lc:
        e, b = lc["per_incident_history"]["ecoplan"], lc["per_incident_history"]["baseline"]
        out += ["", "Per incident, from recorded histories:", "",
                "| | events | updates | activities | timers | workflow tasks | search-attribute upserts | memo upserts | history bytes |",
                "|---|---|---|---|---|---|---|---|---|"]
        for name, c in (("ecoplan", e), ("baseline", b)):
            out.append(f"| {name} | {c['events']} | {c['updates']} | {c['activities']} | {c['timers']} | {c['workflow_tasks']} "
                       f"| {c['search_attribute_upserts']} | {c['memo_upserts']} | {c['history_bytes']:,} |")
    return "\n".join(out)


def waits_growth(uw: dict) -> list[str]:
    """The growth table of what users wait for (issue 26 item 4), one row per size."""
    out = ["", "Growth, what users wait for (issue 26 item 4; s):", "",
           "| open | action → board p50 / p95 (visibility p95, shared copy p95) | deadline → overdue p50 / p95 "
           "| daily report (compile) | report: open, overdue, stuck, bytes | worker peak RSS MB |",
           "|---|---|---|---|---|---|"]
    for s in uw["by_size"]:
        a, d, rep = s["action_board"], s["deadline_overdue"], s["daily_report"]
        out.append(f"| {s['open_incidents']:,} | {_f(a['p50_s'], 2)} / {_f(a['p95_s'], 2)} "
                   f"({_f(a['legs']['visible_s']['p95_s'], 2)}, {_f(a['legs']['copy_s']['p95_s'], 2)}) "
                   f"| {_f(d['p50_s'], 2)} / {_f(d['p95_s'], 2)} "
                   + (f"| {_f(rep.get('trigger_to_result_s'), 2)} ({_f(rep.get('compile_s'), 2)}) " if rep["finished"]
                      else f"| failed (compiled here in {_f(rep.get('compile_direct_s'), 2)}) ")
                   + f"| {_f(rep.get('open_incidents'))}, {_f(rep.get('overdue'))}, {_f(rep.get('stuck'))}, "
                   f"{_f(rep.get('report_bytes'))} | {_f(s['worker_peak_rss_mb'])} |")
    return out



def replay_rows(rp: dict | None) -> list[str]:
    """Rows 5 and 5b: replay against the bare baseline's history and the same-work one's."""
    out: list[str] = []
    if not rp:
        return out
    out.append(f"| 5 | replay of one life-cycle history ({rp['events']} events) | {_f(rp['ms'])} ms "
               f"(CPU {_f(rp.get('cpu_ms'))} ms; one `replay_workflow` call p50 {_f(rp['single_call_p50_ms'])} ms) "
               f"| {_f(rp['baseline_ms'])} ms (CPU {_f(rp.get('baseline_cpu_ms'))} ms; one call "
               f"{_f(rp['baseline_single_call_p50_ms'])} ms) | {_f(rp['ratio'], 2)} "
               f"| ≤ {rp.get('goal_ratio_max', '—')}× bare | {_met(rp['goal_met'])} |")
    if rp.get("same_work_ms"):
        out.append(f"| 5b | replay against the same-work baseline's history ({rp['same_work_events']} events) "
                   f"| {_f(rp['ms'])} ms | {_f(rp['same_work_ms'])} ms (itself {_f(rp['same_work_ratio_to_bare'], 2)}× "
                   f"bare) | {_f(rp['ratio_same_work'], 2)} | — | — |")
    return out

def waits_rows(uw: dict) -> list[str]:
    """Rows 6-8: what users wait for at the largest size (issue 26 item 4)."""
    top = uw["by_size"][-1]
    a, d, rep = top["action_board"], top["deadline_overdue"], top["daily_report"]
    n = f"{uw['open_incidents']:,} open"
    ran = (f"{_f(rep.get('trigger_to_result_s'), 2)} s (compile {_f(rep.get('compile_s'), 2)} s, "
           f"{rep.get('open_incidents')} open in the report)" if rep["finished"] else
           f"did not finish ({rep.get('last_failure') or rep.get('error')}; a {_f(rep.get('report_bytes'))}-byte report); "
           f"compiled in the benchmark's process in {_f(rep.get('compile_direct_s'), 2)} s")
    return [f"| 6 | an action's effect on the board ({a['action']}, {a['samples']} samples; page poll "
            f"{a['page_poll_s']:g} s, shared copy every {a['copy_refresh_s']:g} s), {n} "
            f"| p50 {_f(a['p50_s'], 2)} s, p95 {_f(a['p95_s'], 2)} s | — | — | p95 ≤ {a['goal_p95_s_max']:g} s "
            f"| {_met(a['goal_met'])} |",
            f"| 7 | a deadline falling due to its overdue mark in visibility ({d['samples']} samples), {n} "
            f"| p50 {_f(d['p50_s'], 2)} s, p95 {_f(d['p95_s'], 2)} s | — | — | p95 ≤ {d['goal_p95_s_max']:g} s "
            f"| {_met(d['goal_met'])} |",
            f"| 8 | the 08:00 daily report (its Schedule triggered), {n} | {ran} | — | — | finishes "
            f"| {_met(rep['finished'])} |"]


def cpu_split(sides: dict[str, dict[str, float]]) -> list[str]:
    """Thread CPU ms per incident by bucket (benchmarks/cpu_split.py), median over the rounds."""
    names = ("ecoplan", "same_work", "baseline")
    keys = sorted(set().union(*(sides[n] for n in names)), key=lambda k: -sides["ecoplan"].get(k, 0.0))
    out = ["CPU per incident (ms, median over the rounds at the largest size):", "",
           "| bucket | ecoplan | same-work baseline | bare baseline |", "|---|---|---|---|"]
    out += [f"| {k} | " + " | ".join(_f(sides[n].get(k, 0.0)) for n in names) + " |" for k in keys]
    out.append("| **all** | " + " | ".join(_f(sum(sides[n].values())) for n in names) + " |")
    return out


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    print(render(json.loads(path.read_text(encoding="utf-8"))))


if __name__ == "__main__":
    main()
