"""What a person must not read (issue 22 item 4): an English word or sentence, a raw
identifier (snake_case, a stage or action id), a Python repr ("['", None, True). Used by
tests/test_chinese_text.py on refusals, validation messages, CLI lines and PDF text.

A text is checked after the data the test itself typed is taken out (an incident id such as
unit-1, a temporary path): those are the person's own words, shown back as given.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Iterable

# The ASCII words a person may read, each with the reason.
ALLOWED = {
    "PDF": "the file format, as everyone names it", "ID": "as in 事件ID", "JSON": "the API's format",
    "YAML": "the plan file's format", "CSV": "the export format", "XLSX": "the export format",
    "UTF": "UTF-8, the encoding a notice file must have", "API": "接口, as the bureau's IT staff name it",
    "OIDC": "the login standard's name", "Temporal": "the workflow server's product name (CLI lines)",
    "ecoplan": "the program's name: Unix tools prefix their errors with it (CLI lines)",
    "make": "make run / make install: the command to type (CLI lines)", "run": "make run", "install": "make install",
    "SMTP": "the mail protocol, as the mail server's manual names it", "PLAIN": "an SMTP login method's name",
    "LOGIN": "an SMTP login method's name", "HTTP": "the protocol, in a channel's or webhook's answer",
    "SQLite": "the database file's format (accounts)", "CSRF": "the form token's name, as browsers' help names it",
    "App": "验证器 App: the authenticator on the phone, as its users call it", "TLS": "双向 TLS, the setting's name",
    "PEM": "the certificate file's format, as the CA's documents name it (ECOPLAN_SMTP_CA_FILE)",
    "sqlite": "the value to type for --from (ecoplan db copy)",
    "postgresql": "a database address begins with it (postgresql://…), as the bureau's DBA types it",
    "db": "the host in the example database address (db.example)",
    "Markdown": "the drill report's format (ecoplan drill report)", "OpenAPI": "the interface description's standard",
    "HTTPS": "the protocol, as the proxy's manual names it", "Cookie": "as browsers name it",
    "Secure": "the cookie flag's name", "ISO": "ISO 8601, the time format", "Ctrl": "Ctrl-C, the key to press",
    "SIGTERM": "a signal's name", "SIGHUP": "a signal's name",
    "PostgreSQL": "the database's product name (ecoplan db copy)", "SVG": "the chart's file format",
    "PNG": "the chart's file format", "Schema": "JSON Schema, the standard's name (ecoplan schema)",
    "mg": "unit (mg/L)", "km": "unit", "COMMAND": "ecoplan COMMAND --help: a placeholder to type over",
}
ROMAN = {"I", "II", "III", "IV"}  # the response levels: III级
ENV = re.compile(r"^(ECOPLAN|TEMPORAL)_[A-Z_]+$")  # an environment variable's name, typed as is
WORD = re.compile(r"(?<![A-Za-z0-9_./\\-])[A-Za-z][A-Za-z0-9_]*")  # not an --option, a path or a file name
REPR = re.compile(r"\['|'\]|\{'|\bNone\b|\bTrue\b|\bFalse\b")


def foreign(text: str, data: Iterable[str] = ()) -> list[str]:
    """The words in `text` a person should not read (empty: all Chinese)."""
    for d in sorted((d for d in data if d), key=len, reverse=True):
        text = text.replace(d, "〇")
    found = [m.group() for m in REPR.finditer(text)]
    for m in WORD.finditer(text):
        w = m.group()
        if len(w) > 1 and w not in ROMAN and w not in ALLOWED and not ENV.match(w):
            found.append(w)
    return found


def assert_chinese(texts: Iterable[str], data: Iterable[str] = (), what: str = "") -> int:
    """Every text Chinese; the failure lists each offending text with its words. Returns how
    many texts were checked (a test asserts it checked some)."""
    data = list(data)
    texts = list(texts)
    bad = [(t, w) for t in texts if (w := foreign(t, data))]
    assert not bad, f"{what}: {len(bad)} texts with English or identifiers:\n" + "\n".join(
        f"  {w} in {t!r}" for t, w in bad[:40])
    return len(texts)


# ---------------------------------------------------------------------------- the sentences in the source

# Calls whose text is a person's message: refusals, CLI failures, client-API errors.
MESSAGE_CALLS = {"Refused", "bad", "Fail", "ActionRefused", "IncidentExists", "IncidentNotFound", "IncidentClosed",
                 "IncidentBusy", "IncidentNotReady", "DocumentsError", "Refusal", "FontMissing",
                 # the console's and the CLI's own: records, periods, accounts, login, duty roster, lists, paging
                 "RecordError", "PeriodError", "TokenConfigError", "OIDCConfigError", "OIDCRefused", "AccountError",
                 "ContactError", "DutyError", "ListError", "LinkRefused", "LoginRefused", "EcoplanError",
                 "RosterRejected", "Hopeless", "Retry", "IncidentStuck", "RepairRefused", "RepairFailed", "RepairBadInput",
                 # a plan file's own rules (plan/models base.wrong): what an administrator reads
                 "wrong"}


def _text(node: ast.AST) -> str | None:
    """A string literal or f-string with each placeholder as 〇, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "〇" for v in node.values)
    if isinstance(node, ast.List) and node.elts:  # RosterRejected([...]): its lines
        return "".join(t or "〇" for t in map(_text, node.elts))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        return None if left is None and right is None else (left or "〇") + (right or "〇")
    return None


def source_messages(path: Path) -> list[tuple[int, str]]:
    """(line, text) of every message literal in a module: the first argument of a message
    call, and what an action's apply returns (its reply)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            arg = node.args[1] if name in ("Refusal", "LoginRefused") and len(node.args) > 1 else node.args[0]
            if name in MESSAGE_CALLS and (t := _text(arg)) is not None:
                out.append((node.lineno, t))
        if isinstance(node, ast.FunctionDef) and node.name.startswith("apply"):
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and ret.value is not None and (t := _text(ret.value)) is not None:
                    out.append((ret.lineno, t))
    return out
