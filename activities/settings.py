"""Every setting ecoplan reads from the environment, in one model (`EcoplanSettings`), and
the settings the activities run with (`ActivitySettings`, read once by the worker).

Each ECOPLAN_* and TEMPORAL_* variable is one field below: its name, default and meaning.
The README's table of them is generated from this model (`settings_table()`; a test checks
that they agree). The model lives here, in the lowest layer that reads it (plan ← activities
← workflows ← ecoplan ← worker.py): the worker, the CLI and the console import it from here.

ECOPLAN_HOME anchors every store: its default is the project's own `.ecoplan/` folder,
found from this file's location (not the current directory), so the worker, the console
and the CLI find the same records, accounts, archive and calendars from any working
directory. A relative path in ECOPLAN_HOME is taken from the current directory; a relative
path in any other path variable is taken inside ECOPLAN_HOME.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = PROJECT_ROOT / ".ecoplan"

DEFAULT_FONT_DIRS = ("/usr/share/fonts/opentype/noto",)
DEFAULT_SERIF = "Noto Serif CJK SC"
DEFAULT_SANS = "Noto Sans CJK SC"


def _var(name: str, default, description: str, shown: str | None = None, **kw):
    """A field read from the environment variable `name`; `shown`: its default as the README says it."""
    return Field(default, validation_alias=AliasChoices(name), description=description,
                 json_schema_extra={"shown": shown} if shown else None, **kw)


class SettingsError(ValueError):
    """A variable that cannot be read; the message names it."""


class EcoplanSettings(BaseSettings):
    """The environment, read when asked (settings()): tests and callers may change it between calls."""

    model_config = SettingsConfigDict(case_sensitive=True, env_ignore_empty=True, extra="ignore",
                                      populate_by_name=False)

    # -------------------------------------------------------------- Temporal
    temporal_address: str = _var("TEMPORAL_ADDRESS", "localhost:7233",
                                 "the cluster's host:port (`make run` without it starts the embedded dev server)")
    temporal_namespace: str = _var("TEMPORAL_NAMESPACE", "default", "the cluster's namespace")
    temporal_tls: str = _var("TEMPORAL_TLS", "", "`1` (or true, yes): TLS with the system roots; implied by the "
                             "CA, the client certificate or the API key", "off")
    temporal_tls_ca: Optional[str] = _var("TEMPORAL_TLS_CA", None, "PEM file of the server's CA (TLS)")
    temporal_tls_cert: Optional[str] = _var("TEMPORAL_TLS_CERT", None, "PEM client certificate (mutual TLS, with the key)")
    temporal_tls_key: Optional[str] = _var("TEMPORAL_TLS_KEY", None, "PEM client key (mutual TLS, with the certificate)")
    temporal_tls_server_name: Optional[str] = _var("TEMPORAL_TLS_SERVER_NAME", None, "the server name TLS expects")
    temporal_api_key: Optional[str] = _var("TEMPORAL_API_KEY", None, "API key (e.g. Temporal Cloud), sent as a bearer "
                                           "token; never logged", repr=False)
    # -------------------------------------------------------------- where the data lives
    home: Path = _var("ECOPLAN_HOME", DEFAULT_HOME,
                      "the data folder: the stores below default inside it, its `calendars/` holds the years "
                      "loaded by `ecoplan calendar add-year`, and the embedded server's `temporal.db`; a relative "
                      "path in another variable is taken inside it (so the worker, the CLI and the console find "
                      "the same stores from any working directory)",
                      "the project's `.ecoplan/` (found from the package, not the current directory)")
    archive_dir: Optional[Path] = _var("ECOPLAN_ARCHIVE_DIR", None,
                                       "the incidents' files: PDFs (附件1, 附件2, reports, case file), the chart, "
                                       "Markdown copies, dossier; `ecoplan documents` reads it too",
                                       "`$ECOPLAN_HOME/archive`")
    outbox: Optional[Path] = _var("ECOPLAN_OUTBOX", None, "this worker's own log of the notifications it sent "
                                  "(JSON lines); the record of them is the `notifications` table of the paging "
                                  "store (`ecoplan notifications`)", "`$ECOPLAN_HOME/outbox.jsonl`")
    records_db: Optional[Path] = _var("ECOPLAN_RECORDS_DB", None,
                                      "the records store (SQLite, 17号令 第十条): `list --closed`, `report-period`, "
                                      "the status of incidents Temporal no longer has", "`$ECOPLAN_HOME/records.db`")
    accounts_db: Optional[Path] = _var("ECOPLAN_ACCOUNTS_DB", None,
                                       "accounts, sessions and API tokens of the web console, contacts and the "
                                       "duty roster (SQLite; the paging store `pages.db`, pages and the "
                                       "notifications sent, is kept beside it)",
                                       "`$ECOPLAN_HOME/accounts.db`")
    database_url: Optional[str] = _var("ECOPLAN_DATABASE_URL", None,
                                       "one PostgreSQL (`postgresql://user:password@host/db`) for every store: "
                                       "records, accounts (with contacts and the duty roster), pages and "
                                       "the notifications sent, the archive; every worker and console process of the "
                                       "bureau names the same one (README, More than one machine); the "
                                       "ECOPLAN_*_DB files are then not used", "none: SQLite files in the data folder",
                                       repr=False)
    calendar_dirs: str = _var("ECOPLAN_CALENDAR_DIRS", "", "extra calendar override folders (`:`-separated), read "
                              "after the shipped `plan/calendars` and before `$ECOPLAN_HOME/calendars`", "none")
    # -------------------------------------------------------------- what the activities call
    webhook_url: Optional[str] = _var("ECOPLAN_WEBHOOK_URL", None,
                                      "notifications also POSTed here (Idempotency-Key header)", "none")
    font_dirs: str = _var("ECOPLAN_FONT_DIRS", "", "folders of the printed documents' and the chart's fonts "
                          "(`:`-separated)", "`" + ":".join(DEFAULT_FONT_DIRS) + "`")
    font_serif: str = _var("ECOPLAN_FONT_SERIF", DEFAULT_SERIF, "the documents' body font family (宋体-like)")
    font_sans: str = _var("ECOPLAN_FONT_SANS", DEFAULT_SANS, "the chart's and small print's font family (黑体-like)")
    # -------------------------------------------------------------- the CLI
    user: Optional[str] = _var("ECOPLAN_USER", None, "who acts through the CLI, when `--by` is not given", "none")
    role: Optional[str] = _var("ECOPLAN_ROLE", None, "the plan role they act in (id or name), when `--as` is not "
                               "given", "none: the first role the authority table gives the action")
    # -------------------------------------------------------------- the worker
    max_cached_workflows: int = _var("ECOPLAN_MAX_CACHED_WORKFLOWS", 250,
                                     "incidents a worker keeps in memory (about 0.5 MB each: 384 MB peak with 10,000 "
                                     "open, 429 MB while the daily report ran; an evicted one is replayed, about 0.1 "
                                     "s, on its next action)")
    metrics_port: Optional[int] = _var("ECOPLAN_METRICS_PORT", None, "Prometheus metrics of the worker on this port",
                                       "off")
    connect_wait: str = _var("ECOPLAN_CONNECT_WAIT", "30", "seconds `worker.py` keeps trying to reach Temporal when "
                             "it starts, then exits 1 with one line")
    # -------------------------------------------------------------- the console and the intake
    trusted_proxies: str = _var("ECOPLAN_TRUSTED_PROXIES", "",
                                "addresses (comma-separated) of the reverse proxies whose `X-Forwarded-For/-Proto` "
                                "`ecoplan web` believes, e.g. `127.0.0.1` behind nginx on the same host; from any "
                                "other peer the headers are ignored (the login limit counts the peer's address)",
                                "none: the connecting peer is the client")
    intake_tokens: Optional[str] = _var("ECOPLAN_INTAKE_TOKENS", None, "the 12369/119 platforms' tokens, "
                                        "`hotline_12369=TOKEN1,linkage_119=TOKEN2`", "none: `/alerts` answers 503")
    intake_tokens_file: Optional[str] = _var("ECOPLAN_INTAKE_TOKENS_FILE", None,
                                             "a file of such tokens (added to `ECOPLAN_INTAKE_TOKENS`)", "none")
    oidc_issuer: Optional[str] = _var("ECOPLAN_OIDC_ISSUER", None, "the identity provider's issuer URL (OpenID "
                                      "Connect login beside the local accounts)", "none: local accounts only")
    oidc_client_id: Optional[str] = _var("ECOPLAN_OIDC_CLIENT_ID", None, "the console's client id at the provider")
    oidc_client_secret: Optional[str] = _var("ECOPLAN_OIDC_CLIENT_SECRET", None, "its client secret", repr=False)
    oidc_client_secret_file: Optional[str] = _var("ECOPLAN_OIDC_CLIENT_SECRET_FILE", None,
                                                  "a file holding the client secret instead")
    oidc_roles: Optional[str] = _var("ECOPLAN_OIDC_ROLES", None, "claim value = role id, comma-separated, first "
                                     "match wins: `emergency-duty=duty_officer,bureau-leaders=commander`")
    oidc_role_claim: str = _var("ECOPLAN_OIDC_ROLE_CLAIM", "roles", "the claim holding those values")
    oidc_username_claim: str = _var("ECOPLAN_OIDC_USERNAME_CLAIM", "preferred_username",
                                    "the claim that is the username")
    oidc_mfa_amr: str = _var("ECOPLAN_OIDC_MFA_AMR", "mfa,otp,hwk,sc",
                             "values of the ID token's `amr` claim (RFC 8176, comma-separated) that show the provider "
                             "itself asked a second factor: then a role in `ECOPLAN_TOTP_ROLES` is not asked the "
                             "console's one-time code after an OIDC login; `none`: always asked")
    # -------------------------------------------------------------- paging channels (issue 23); secrets never logged
    smtp_host: Optional[str] = _var("ECOPLAN_SMTP_HOST", None, "e-mail channel: the SMTP server's host", "none: no e-mail")
    smtp_port: Optional[int] = _var("ECOPLAN_SMTP_PORT", None, "its port", "25, 587 with `starttls`, 465 with `ssl`")
    smtp_user: Optional[str] = _var("ECOPLAN_SMTP_USER", None, "SMTP login (AUTH), when the server asks for one", "none")
    smtp_password: Optional[str] = _var("ECOPLAN_SMTP_PASSWORD", None, "its password; never logged", "none", repr=False)
    smtp_from: Optional[str] = _var("ECOPLAN_SMTP_FROM", None, "the From address of pages", "none")
    smtp_tls: str = _var("ECOPLAN_SMTP_TLS", "starttls", "`none`, `starttls` or `ssl` (implicit TLS)")
    smtp_ca_file: Optional[str] = _var("ECOPLAN_SMTP_CA_FILE", None, "a CA certificate file (PEM) to trust for the "
                                       "SMTP server's certificate: a bureau's own CA", "none: the system's CAs")
    dingtalk_webhook: Optional[str] = _var("ECOPLAN_DINGTALK_WEBHOOK", None, "DingTalk custom robot: its webhook URL "
                                           "(…/robot/send?access_token=…); never logged", "none", repr=False)
    dingtalk_secret: Optional[str] = _var("ECOPLAN_DINGTALK_SECRET", None, "the robot's signing secret (SEC…: "
                                          "timestamp + HMAC-SHA256 signature on each call); never logged", "none",
                                          repr=False)
    wecom_webhook: Optional[str] = _var("ECOPLAN_WECOM_WEBHOOK", None, "WeCom group robot: its webhook URL "
                                        "(…/cgi-bin/webhook/send?key=…); never logged", "none", repr=False)
    sms_endpoint: str = _var("ECOPLAN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com/",
                             "SMS channel: Alibaba Cloud SMS (Dysmsapi SendSms, signature version 1.0) endpoint")
    sms_access_key_id: Optional[str] = _var("ECOPLAN_SMS_ACCESS_KEY_ID", None, "its AccessKey ID", "none: no SMS")
    sms_access_key_secret: Optional[str] = _var("ECOPLAN_SMS_ACCESS_KEY_SECRET", None, "its AccessKey secret; never "
                                                "logged", "none", repr=False)
    sms_sign_name: Optional[str] = _var("ECOPLAN_SMS_SIGN_NAME", None, "the approved SMS signature (签名)", "none")
    sms_template_code: Optional[str] = _var("ECOPLAN_SMS_TEMPLATE_CODE", None, "the approved template (SMS_…), with "
                                            "one variable `${content}`", "none")
    console_url: str = _var("ECOPLAN_CONSOLE_URL", "http://127.0.0.1:8000", "the console's address as people reach it: "
                            "the acknowledgement links in pages point there")
    page_link_secret: Optional[str] = _var("ECOPLAN_PAGE_LINK_SECRET", None, "key that signs the acknowledgement links "
                                           "(HMAC-SHA256); never logged", "a random key kept in `$ECOPLAN_HOME/page-link.key`",
                                           repr=False)
    # -------------------------------------------------------------- sign-in (issue 25)
    totp_roles: str = _var("ECOPLAN_TOTP_ROLES", "admin,commander",
                           "roles (comma-separated ids) that must sign in with a one-time code from an authenticator "
                           "app besides the password (GB/T 22239-2019 8.1.4.1 d)); optional for the others; `none` "
                           "for nobody")
    totp_self_enrol: bool = _var("ECOPLAN_TOTP_SELF_ENROL", True,
                                 "`yes`: an account not yet enrolled sets up its authenticator itself at its first "
                                 "login (trust on first use); `no`: only an admin enrols (`ecoplan users enrol-2fa`), "
                                 "and an account that must use a second factor and has none is refused at login",
                                 "`yes`")
    session_idle_minutes: int = _var("ECOPLAN_SESSION_IDLE_MINUTES", 30,
                                     "minutes a console session may stay unused before it ends and the person "
                                     "signs in again (GB/T 22239-2019 8.1.4.1 b): log out when the connection "
                                     "times out; the minutes are a local choice). Typing in a form counts as use, "
                                     "a page refreshing itself does not; 0: no idle limit, only the 12-hour one",
                                     ge=0, le=720)
    audit_days: int = _var("ECOPLAN_AUDIT_DAYS", 180, "days the audit log of sign-ins and account changes is kept "
                           "(at least 180: 网络安全法 第二十一条, logs kept not less than six months)", ge=180)

    # -------------------------------------------------------------- paths, anchored in home

    def in_home(self, path: Optional[Path], default: str) -> Path:
        """`path` (relative: inside ECOPLAN_HOME), or ECOPLAN_HOME/default."""
        home = self.home.expanduser().absolute()
        return home / (path.expanduser() if path is not None else default)

    @property
    def archive_path(self) -> Path:
        return self.in_home(self.archive_dir, "archive")

    @property
    def outbox_path(self) -> Path:
        return self.in_home(self.outbox, "outbox.jsonl")

    @property
    def records_path(self) -> Path:
        return self.in_home(self.records_db, "records.db")

    @property
    def records_store(self) -> str | Path:
        """The records store: the shared database, else its SQLite file."""
        return self.database_url or self.records_path

    @property
    def accounts_path(self) -> Path:
        return self.in_home(self.accounts_db, "accounts.db")

    @property
    def calendar_data(self) -> Path:
        """$ECOPLAN_HOME/calendars: where `ecoplan calendar add-year` writes a year's file."""
        return self.in_home(None, "calendars")

    @property
    def calendar_dir_list(self) -> tuple[Path, ...]:
        return tuple(self.in_home(Path(p), "") for p in self.calendar_dirs.split(os.pathsep) if p)

    @property
    def trusted_proxy_set(self) -> frozenset[str]:
        return frozenset(p.strip() for p in self.trusted_proxies.split(",") if p.strip())

    @property
    def totp_role_set(self) -> frozenset[str]:
        return frozenset(r.strip() for r in self.totp_roles.split(",") if r.strip() and r.strip() != "none")

    @property
    def oidc_mfa_amr_set(self) -> frozenset[str]:
        return frozenset(v.strip() for v in self.oidc_mfa_amr.split(",") if v.strip() and v.strip() != "none")

    @property
    def tls_on(self) -> bool:
        return self.temporal_tls.lower() in ("1", "true", "yes")

    @property
    def temporal_db(self) -> Path:
        """The embedded dev server's SQLite file."""
        return self.in_home(None, "temporal.db")


def settings(env: Mapping[str, str] | None = None) -> EcoplanSettings:
    """The settings from the environment now (or from `env` alone, for tests and callers that
    hold their own mapping). Empty values count as unset."""
    try:
        if env is None:
            return _from_environ()
        names = {n for f in EcoplanSettings.model_fields.values() for n in f.validation_alias.choices}
        return EcoplanSettings.model_validate({k: v for k, v in env.items() if k in names and v != ""})
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        raise SettingsError(f"{err['loc'][0]}: {err.get('input')!r}: {err['msg']}") from None


_read: tuple[tuple, EcoplanSettings] | None = None


def _from_environ() -> EcoplanSettings:
    """Read again only when the environment changed: building the model costs about 3 ms, and
    the delivery activity asks for the channels on every call (issue 26's profile). A copy,
    so a caller that changes its settings changes nobody else's."""
    global _read
    key = tuple(os.environ.items())
    cached = _read
    if cached is None or cached[0] != key:
        cached = _read = (key, EcoplanSettings())
    return cached[1].model_copy()


TABLE_START, TABLE_END = "<!-- settings table: generated by activities.settings.settings_table() -->", "<!-- end of settings table -->"


def settings_table() -> str:
    """The README's table of every variable: name, meaning, default (from the model). Print it
    with `python -c "from activities.settings import settings_table; print(settings_table())"`."""
    rows = ["| variable | meaning | default |", "| --- | --- | --- |"]
    for name, f in EcoplanSettings.model_fields.items():
        var = f.validation_alias.choices[0]
        default = f.default
        if f.json_schema_extra:
            shown = f.json_schema_extra["shown"]
        elif default is None or default == "":
            shown = "none"
        else:
            shown = f"`{default}`"
        rows.append(f"| `{var}` | {f.description} | {shown} |")
    return "\n".join(rows)


# ------------------------------------------------------------------ what the activities run with


@dataclass(frozen=True)
class FontSettings:
    """The documents' fonts (activities/documents/fonts.py)."""

    dirs: tuple[str, ...] = DEFAULT_FONT_DIRS
    serif: str = DEFAULT_SERIF
    sans: str = DEFAULT_SANS

    @classmethod
    def from_env(cls) -> "FontSettings":
        s = settings()
        dirs = tuple(p for p in s.font_dirs.split(os.pathsep) if p) or DEFAULT_FONT_DIRS
        return cls(dirs=dirs, serif=s.font_serif, sans=s.font_sans)


@dataclass(frozen=True)
class ActivitySettings:
    archive_dir: Path = Path(".ecoplan/archive")
    outbox_path: Path = Path(".ecoplan/outbox.jsonl")
    # The records store (SQLite, activities/records_store.py); default: records.db beside the archive folder
    # (.ecoplan/records.db for the default archive), so a worker given its own archive keeps its own store.
    records_db: Path | str | None = None  # a SQLite file or a database URL (ECOPLAN_DATABASE_URL)
    webhook_url: str | None = None
    webhook_timeout_s: float = 10.0
    calendar_dirs: tuple[Path, ...] = field(default_factory=tuple)  # extra plan calendar dirs
    # The data folder's calendars (`ecoplan calendar add-year` writes there), read when present;
    # None in tests that give their own dirs, so they never see a machine's loaded years.
    calendar_data: Path | None = None
    fonts: FontSettings | None = None  # the documents' fonts; None: ECOPLAN_FONT_* at each rendering
    # The shared database (ECOPLAN_DATABASE_URL): the archive's files are kept there too
    # (activities/archive_store.py). None: the archive is this machine's folder only.
    database_url: str | None = None
    # The paging store, where each notification sent is recorded (activities/page_store.py): the
    # shared database, else `pages.db` (default: beside the archive folder, as records.db).
    pages_db: Path | str | None = None

    def __post_init__(self) -> None:
        if self.records_db is None:
            object.__setattr__(self, "records_db", Path(self.archive_dir).parent / "records.db")
        if self.pages_db is None:
            object.__setattr__(self, "pages_db", self.database_url or Path(self.archive_dir).parent / "pages.db")

    @classmethod
    def from_env(cls) -> "ActivitySettings":
        s = settings()
        return cls(
            archive_dir=s.archive_path,
            outbox_path=s.outbox_path,
            records_db=s.records_store,
            webhook_url=s.webhook_url,
            calendar_dirs=s.calendar_dir_list,
            calendar_data=s.calendar_data,
            database_url=s.database_url,
            pages_db=s.database_url or s.accounts_path.parent / "pages.db",  # as page_store.store_target()
        )


def calendar_dirs_from_env() -> list[Path]:
    """Every calendar directory a process of this bureau reads, in order (later wins): the
    shipped plan/calendars, $ECOPLAN_CALENDAR_DIRS, and the data folder's when it exists."""
    from plan.calendar import DEFAULT_DIR

    s = ActivitySettings.from_env()
    return [DEFAULT_DIR, *s.calendar_dirs, *([s.calendar_data] if s.calendar_data and s.calendar_data.is_dir() else [])]


def calendar_data_dir() -> Path:
    """The data folder's calendar directory, $ECOPLAN_HOME/calendars: where `ecoplan calendar
    add-year` writes a year's file read from the State Council notice."""
    return settings().calendar_data
