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
