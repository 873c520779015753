"""The stages of an incident's life cycle, as the plan's text names them: ids (the contract)
and their Chinese names for people. The machine over them is workflows/lifecycle.py."""

STAGES = ["reported", "warning", "responding", "on_site", "termination_pending", "post_event", "closed"]
STAGE_NAMES = {
    "reported": "接报", "warning": "预警", "responding": "应急响应", "on_site": "现场处置",  # 2.2, 3, 4.1, 4.3
    "termination_pending": "终止签报", "post_event": "后期处置", "closed": "结案",  # 4.4 附件2, 5
}
