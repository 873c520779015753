"""Which update failures a client sends again (docs/contracts.md): the incident's refusal
never (sending it again gets the same refusal), the server's "not processed by the worker"
rejection always (nothing was applied). The chaos soak met the latter once in 2,594 actions
and counted it as a refused sign-off, and the incident never closed."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from ecoplan import api
from tests.helpers import DUTY, report
from workflows import messages as m

# The server's words (temporal server 1.32, as the soak's client received them).
SERVERS = "Workflow Update is rejected because it wasn't processed by worker. Probably, Workflow Update is not supported by the worker."


async def test_the_incidents_refusal_is_not_sent_again_the_servers_rejection_is(client, worker):
    iid = await api.start_incident(client, report(title="桃河拒绝测试"))
    handle = client.get_workflow_handle(api.workflow_id(iid))
    # A real refusal from the incident: closing an incident that has just been reported.
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("close", m.Close(by=DUTY), id="close-too-early")
    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.type == "Refused"
    assert not api.unprocessed(refused.value)
    with pytest.raises(api.ActionRefused):  # answered at once, in Chinese, not sent again
        await api.act(client, iid, "close", m.Close(by=DUTY))
    # The server's rejection, as the SDK gives it: an ApplicationError of no type.
    servers = WorkflowUpdateFailedError(ApplicationError(SERVERS, non_retryable=True))
    assert api.unprocessed(servers)
    # Even worded like the server's, a refusal of type Refused is the incident's.
    ours = WorkflowUpdateFailedError(ApplicationError(SERVERS, type="Refused", non_retryable=True))
    assert not api.unprocessed(ours)
