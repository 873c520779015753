"""The deep copy an action works on (incident.draft_of): `copy.deepcopy`'s result, made
without `copy.deepcopy`.

Inside the workflow sandbox `isinstance` and `issubclass` are replaced by wrappers that
unwrap proxies (about 4 µs a call), and `copy.deepcopy` calls them for every object it meets
(pydantic's `__deepcopy__` too). Here each object's type is looked up in a table built once
per type, so a copy calls neither: a replayed life cycle's activations took 29-37 ms against
34-38 ms with deepcopy (BENCHMARKS.md, "two cuts in the workflow's own code"). What it
copies is what deepcopy copies, with the same memo: lists, dicts, sets, tuples and pydantic
models are new objects, the rest (str, numbers, dates, enums, None) is shared as deepcopy
shares it; any other type goes to deepcopy.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import enum
from typing import Any

from pydantic import BaseModel

_ATOMIC, _LIST, _DICT, _TUPLE, _SET, _MODEL, _OTHER = range(7)
_KINDS: dict[type, int] = {t: _ATOMIC for t in (str, int, float, bool, bytes, type(None), complex, dt.datetime,
                                                dt.date, dt.time, dt.timedelta, dt.timezone, decimal.Decimal, range)}
_KINDS.update({list: _LIST, dict: _DICT, tuple: _TUPLE, set: _SET})
_set_attr = object.__setattr__


def _kind(t: type) -> int:
    k = _KINDS.get(t)
    if k is None:  # once per type
        k = _ATOMIC if issubclass(t, enum.Enum) else _MODEL if issubclass(t, BaseModel) else _OTHER
        _KINDS[t] = k
    return k


def deep_copy(x: Any, memo: dict[int, Any]) -> Any:
    """`copy.deepcopy(x, memo)` for the types a state holds; `memo` maps id → the object to use."""
    t = type(x)
    k = _KINDS.get(t)
    if k is None:
        k = _kind(t)
    if k == _ATOMIC:
        return x
    i = id(x)
    y = memo.get(i, memo)
    if y is not memo:
        return y
    if k == _LIST:
        y = []
        memo[i] = y
        y.extend([deep_copy(v, memo) for v in x])
    elif k == _DICT:
        y = {}
        memo[i] = y
        for key, v in x.items():
            y[deep_copy(key, memo)] = deep_copy(v, memo)
    elif k == _MODEL and getattr(x, "__pydantic_private__", None) is None:
        # as pydantic's BaseModel.__deepcopy__: a new instance, its __dict__ and extra copied
        y = t.__new__(t)
        memo[i] = y
        _set_attr(y, "__dict__", deep_copy(x.__dict__, memo))
        _set_attr(y, "__pydantic_extra__", deep_copy(x.__pydantic_extra__, memo))
        _set_attr(y, "__pydantic_fields_set__", set(x.__pydantic_fields_set__))
        _set_attr(y, "__pydantic_private__", None)
    elif k == _TUPLE:
        items = [deep_copy(v, memo) for v in x]
        y = memo.get(i, memo)  # a tuple reached again through its own items
        if y is memo:
            y = x if all(a is b for a, b in zip(items, x)) else tuple(items)
            memo[i] = y
    elif k == _SET:
        y = {deep_copy(v, memo) for v in x}
        memo[i] = y
    else:  # another type, or a model with private attributes: deepcopy itself
        y = copy.deepcopy(x, memo)
        memo[i] = y
    return y
