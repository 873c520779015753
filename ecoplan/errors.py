"""What can go wrong for a person using ecoplan, as one exception type each, with a message
fit to print as it is; and the one place that turns "Temporal is not reachable" into a
sentence. The CLI, the client API and the intake service all raise these."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports this module for every command; temporalio only when it connects
    from temporalio.client import Client


class Fail(Exception):
    """Stop the command with this one-line message and exit code (1 refused, 2 bad input)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def bad(message: str) -> Fail:
    return Fail(message, 2)


class EcoplanError(Exception):
    exit_code = 1


class IncidentExists(EcoplanError):
    pass


class IncidentNotFound(EcoplanError):
    pass


class IncidentClosed(EcoplanError):
    pass


class ActionRefused(EcoplanError):
    """The incident refused the action; `kind` (workflows/errors.py) says why: the account may
    not take it (forbidden), the state does not allow it now (conflict), the input is wrong (invalid)."""

    def __init__(self, message: str, kind: str = "conflict", field: str | None = None):
        super().__init__(message)
        self.kind, self.field = kind, field  # field: the input it is about, when one is


class IncidentBusy(EcoplanError):
    pass


class IncidentStuck(EcoplanError):
    """The incident's workflow task keeps failing (activities/task_failures.py): nothing it holds
    can be read or changed until an operator repairs it (`ecoplan repair`); the message says so."""


class IncidentNotReady(EcoplanError):
    """Started, but not ready for actions within the wait: the message names the cause."""


def unreachable(address: str, e: BaseException) -> str:
    reason = "连接被拒绝" if "refused" in str(e).lower() else (str(e).splitlines() or [type(e).__name__])[0][:200]
    return f"连不上 Temporal 服务（{address}，{reason}）：服务是否已启动（make run），或 TEMPORAL_ADDRESS 是否设置正确？"


async def connect_or_fail(settings=None, who: str = "") -> "Client":
    """Connect, or raise Fail with one line: bad settings exit 2, an unreachable server 1."""
    from temporalio.service import RPCError

    from ecoplan.connection import ConnectionSettings, connect

    settings = settings or ConnectionSettings.from_env()
    try:
        return await connect(settings)
    except ValueError as e:  # a configuration mistake, e.g. half of mutual TLS
        raise bad(f"{who}连接设置有误：{e}") from None
    except (RuntimeError, RPCError, OSError) as e:
        raise Fail(who + unreachable(settings.address, e)) from None
