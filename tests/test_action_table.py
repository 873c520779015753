"""The README's table of actions is the registry's, as `python -m ecoplan.action_table` prints it."""

from pathlib import Path

from ecoplan import action_table
from workflows.actions import ACTIONS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_lists_every_action_as_the_registry_declares_it():
    text = README.read_text(encoding="utf-8")
    start, end = text.index(action_table.BEGIN), text.index(action_table.END) + len(action_table.END)
    assert text[start:end] == action_table.render(), \
        "README's table of actions is stale: python -m ecoplan.action_table, and paste it between the markers"
    for name in ACTIONS:
        assert f"| `{name}` |" in text[start:end]


def test_openapi_lists_every_action_with_its_body_schema(tmp_path):
    from ecoplan.accounts import AccountStore
    from ecoplan.web.app import create_app

    doc = create_app(client_factory=lambda: None, store=AccountStore(tmp_path / "accounts.db")).openapi()
    schemas = doc["components"]["schemas"]
    for name, spec in ACTIONS.items():
        op = doc["paths"][f"/api/incidents/{{incident_id}}/actions/{name}"]["post"]
        ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        body = schemas[ref.rsplit("/", 1)[1]]
        # the input's own fields, without those the server fills from the account
        assert set(body["properties"]) == set(spec.input.model_fields) - {"by", "approver"}, name
        assert spec.title in op["summary"] and "403" in op["responses"] and "409" in op["responses"]
    assert schemas["SignOffBody"]["required"] == ["group", "lead", "decision"]
    assert "/api/incidents/{incident_id}/actions/{action}" not in doc["paths"]
