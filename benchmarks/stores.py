"""The records store on SQLite beside PostgreSQL (issue 27): the same records (the 事件列表
benchmark's, benchmarks/incident_list.py) saved one by one as the activities save them, then
the console's 事件列表 page query and `ecoplan list --closed`'s search, timed on each backend.
PostgreSQL is a local cluster started as tests/pg.py starts it (fsync off: a test cluster),
so the figures compare the data-access layer and the SQL, not disks.

    python -m benchmarks.stores --n 5000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path

from activities import records_store as rs
from benchmarks.incident_list import record
from ecoplan import incident_list as il
from ecoplan import records


def _ms(xs: list[float]) -> dict:
    xs = sorted(xs)
    return {"median_ms": round(statistics.median(xs) * 1000, 2), "p95_ms": round(xs[int(len(xs) * 0.95) - 1] * 1000, 2)}


def measure(target, n: int, repeats: int) -> dict:
    rng = random.Random(27)
    docs = [record(i, i % 3 != 0, rng) for i in range(n)]
    with closing(rs.connect(target)) as conn:
        t0 = time.perf_counter()
        for r, st in docs:
            rs.upsert_record(conn, r, st)
        saved = time.perf_counter() - t0
        page, closed = [], []
        for k in range(repeats):
            q = il.parse({"county": "平定县", "sort": "-reported"} if k % 2 else {"q": "桃河"})
            t = time.perf_counter()
            il.search(conn, q)
            page.append(time.perf_counter() - t)
            t = time.perf_counter()
            records.search(conn, records.Search(), 50)
            closed.append(time.perf_counter() - t)
    return {"records": n, "save_per_s": round(n / saved, 1), "list_page": _ms(page), "list_closed": _ms(closed)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--repeats", type=int, default=100)
    args = p.parse_args()
    from tests.pg import Cluster

    out = {"sqlite": measure(Path(tempfile.mkdtemp(prefix="ecoplan-bench-stores-")) / "records.db", args.n, args.repeats)}
    cluster = Cluster().start()
    try:
        out["postgresql"] = measure(cluster.fresh_url(), args.n, args.repeats)
    finally:
        cluster.stop()
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
