"""A rule's source as a person reads it: the article it cites, in the plan's Chinese.

The plan data's `source` strings carry a citation and, often, a reviewer's note in English
("5.3 (the plan states it for 较大 events…); reminders/escalation: ecoplan default"). Pages,
refusals and documents print the citation only; the notes stay in the data for reviewers."""

from __future__ import annotations

import re

LOCAL = "本地规定（预案未作规定）"
_WORD = r"\b(?!(?:I{1,3}|IV)\b)[A-Za-z_]{3,}"  # an English word or an identifier (not a level: III)
_NOTE = re.compile(r"\s*[（(][^（()）]*?" + _WORD + r"[^（()）]*[)）]")  # a parenthesised note in English
_ENGLISH = re.compile(_WORD)


def cite(source: str | None) -> str:
    """"5.2 → 《突发环境事件调查处理办法》(环境保护部令第32号); 60 days: no article found" gives
    "5.2 → 《突发环境事件调查处理办法》(环境保护部令第32号)"; a source that is only a note: LOCAL."""
    if not source:
        return LOCAL
    kept = []
    for part in re.split(r"[;；]\s*", _NOTE.sub("", source)):
        head = re.split(r":\s+(?=[A-Za-z])", part, maxsplit=1)[0].strip()  # "17号令 第三条: the bureau…"
        if head and not _ENGLISH.search(head):
            kept.append(head)
    return "；".join(kept) or LOCAL
