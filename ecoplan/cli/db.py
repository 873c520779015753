"""`ecoplan db upgrade` (bring every store to this ecoplan's schema: Alembic migrations, the
same on SQLite and PostgreSQL) and `ecoplan db copy` (move a bureau's stores from the embedded
SQLite files to the shared PostgreSQL, ecoplan/db_copy.py). Lines a person reads are Chinese."""

from __future__ import annotations

import json

import typer

from activities import db as store
from activities.db import migrate
from activities.settings import settings
from ecoplan import db_copy
from ecoplan.cli.common import JsonOpt
from ecoplan.cli.typer_zh import Typer
from ecoplan.errors import Fail, bad

db_app = Typer(no_args_is_help=True, help="存储数据库：升级结构，迁移到 PostgreSQL。")


def _targets() -> dict[str, object]:
    from activities import page_store

    s = settings()
    out = {"records": s.database_url or s.records_path, "accounts": s.database_url or s.accounts_path,
           "pages": page_store.store_target()}
    if s.database_url:
        out["archive"] = s.database_url  # the shared archive exists only in the shared database
    return out


def upgrade_all(force: bool = False) -> dict[str, dict]:
    """Every store at this ecoplan's schema: {store: {"target", "revision"}}. worker.py runs it
    on start when the stores are shared (ECOPLAN_DATABASE_URL); the SQLite files are migrated
    when first opened."""
    import activities.page_store  # noqa: F401
    import activities.records_store  # noqa: F401  (registers how files from before Alembic are read)
    import ecoplan.accounts  # noqa: F401

    return {name: {"target": store.shown(target), "revision": migrate.upgrade(target, name, force=force)}
            for name, target in _targets().items()}


@db_app.command("upgrade")
def upgrade(as_json: bool = JsonOpt):
    """把记录库、账号库（含联系方式和值班表）和呼叫库升级到本版 ecoplan 的结构（启动时也会自动升级）。"""
    try:
        done = upgrade_all(force=True)
    except (store.DatabaseError, ValueError) as e:
        raise Fail(f"无法升级：{e}", 1) from None
    if as_json:
        print(json.dumps(done, ensure_ascii=False, indent=2))
    else:
        for name, d in done.items():
            print(f"{db_copy.STORE_NAMES[name]} {d['target']}：已是最新结构（{d['revision']}）")


@db_app.command("copy")
def copy(source: str = typer.Option(..., "--from", help="`sqlite`（本数据目录中的文件：ECOPLAN_RECORDS_DB、"
                                    "ECOPLAN_ACCOUNTS_DB 及其旁的 pages.db、ECOPLAN_ARCHIVE_DIR）或数据库地址"),
         target: str = typer.Option(..., "--to", help="目标数据库地址，如 postgresql://用户:密码@主机/库名"),
         as_json: bool = JsonOpt):
    """把记录、账号（含联系方式和值班表）、呼叫（含已发出的通知）和归档复制到另一个数据库；可重复运行（不会重复
    复制，目标库中较新的记录不会被覆盖）。"""
    import ecoplan.accounts  # noqa: F401
    from activities import page_store

    if not store.is_url(target):
        raise bad(f"--to {target!r}：应为数据库地址，如 postgresql://ecoplan:口令@db.example/ecoplan")
    s = settings()
    if source == "sqlite":
        records_from, accounts_from, archive = s.records_path, s.accounts_path, s.archive_path
        pages_from = page_store.store_target(s.accounts_path)  # the pages.db beside it
    elif store.is_url(source):
        records_from = accounts_from = pages_from = source
        archive = None
    else:
        raise bad(f"--from {source!r}：应为 sqlite 或数据库地址")
    if store.url_of(source if source != "sqlite" else records_from) == store.url_of(target):
        raise bad("--from 与 --to 是同一个库")
    try:
        out = db_copy.copy_all(records_from, accounts_from, target, archive, pages_from)
    except (store.DatabaseError, ValueError) as e:
        raise Fail(f"复制未完成：{str(e).splitlines()[0]}（已复制的部分保留，再次运行会接着复制）", 1) from None
    except Exception as e:  # a database error: one line, never a traceback
        raise Fail(f"复制未完成：{type(e).__name__}: {str(getattr(e, 'orig', e)).splitlines()[0]}"
                   "（已复制的部分保留，再次运行会接着复制）", 1) from None
    if as_json:
        print(json.dumps([c.public() for c in out], ensure_ascii=False, indent=2))
    elif not out:
        print("源中没有可复制的数据")
    else:
        print(f"复制到 {store.shown(target)}：")
        print("\n".join(c.line() for c in out))
