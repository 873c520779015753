"""The errors an incident answers a caller with, typed so that a client tells them apart by
type and details, never by the wording of the message.

`Refused.kind` says which HTTP status a refusal maps to: `forbidden` (the account may not take
this action, 403), `conflict` (the incident's state does not allow it now, 409) or `invalid`
(the input itself is wrong, 422). The message is the sentence for the person."""

from __future__ import annotations

from typing import Literal

from temporalio.exceptions import ApplicationError

RefusalKind = Literal["forbidden", "conflict", "invalid"]


class Refused(ApplicationError):
    """A human input refused by a validator: the message is for the person who sent it."""

    def __init__(self, message: str, kind: RefusalKind = "conflict"):
        super().__init__(message, kind, type="Refused", non_retryable=True)
        self.kind = kind


def refusal_kind(error: ApplicationError) -> RefusalKind:
    """The kind a refusal carries in its details (a client-side read of `Refused`)."""
    details = error.details or ()
    return details[0] if details and details[0] in ("forbidden", "conflict", "invalid") else "conflict"
