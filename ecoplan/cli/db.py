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
from ecoplan.errors import Fail, bad

db_app = typer.Typer(no_args_is_help=True, help="The stores' database: schema upgrade, moving to PostgreSQL.")


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
    """Bring the records, accounts (with contacts and the duty roster) and paging stores to this
    ecoplan's schema (also done on start)."""
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
def copy(source: str = typer.Option(..., "--from", help="`sqlite` (this data folder's files: ECOPLAN_RECORDS_DB, "
                                    "ECOPLAN_ACCOUNTS_DB and the pages.db beside it, ECOPLAN_ARCHIVE_DIR) or a database URL"),
         target: str = typer.Option(..., "--to", help="postgresql://user:password@host/db"),
         as_json: bool = JsonOpt):
    """Copy the records, the accounts (with contacts and the duty roster), the pages and the archive
    into another database; idempotent (run again, nothing is copied twice; a newer record there is
    never overwritten)."""
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
