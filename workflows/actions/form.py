"""The console's form fields, declared with each action (pure data: labels in the plan's
Chinese, options from the plan); the web console renders them (ecoplan/web)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FormField:
    name: str  # the input's key; "content.summary" nests, "leads.monitoring" fills a dict
    label: str
    kind: str = "text"  # text | textarea | select | checkbox | checks | date | datetime | lines | number | hidden
    required: bool = False
    options: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    value: str = ""  # a hidden field's value, fixed when the page is rendered
    search: bool = False  # a select of people: the console puts a filter by name before it


AT = FormField("at", "发生时间（默认现在）", "datetime")
# The check refuses an `at` more than an hour back without it (workflows/actions/common.py).
BACKDATE = FormField("backdate_reason", "补录说明（发生时间早于现在 1 小时以上时必填）", "textarea")
LEVELS = (("I", "I级（特别重大）"), ("II", "II级（重大）"), ("III", "III级（较大）"), ("IV", "IV级（一般）"))
