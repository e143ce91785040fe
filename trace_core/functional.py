"""Traced operations for what Python syntax cannot express (Trace's ``opto.trace.operators``).

``x + y`` or ``x[0]`` on nodes are traced by operator overloading; a conditional, an identity,
a list or dict update or an LLM call are not, so they are bundled functions here:
``cond(c, x, y)``, ``identity(x)``, ``list_extend(x, y)``, ``dict_update(x, y)``,
``call_llm(system, *prompts)``, .... Each returns a new ``MessageNode`` whose parents are its
arguments. The container updates work on a copy (the input node's value is not mutated), as in
Trace. ``import trace_core.functional as operators`` gives Trace's spelling.
"""

from __future__ import annotations

import builtins
import copy
import math
from typing import Any

from trace_core.bundle import bundle

# -- identity, logic and comparisons ----------------------------------------------------------


@bundle
def identity(x: Any) -> Any:
    """The value of x itself (a new node linked to x)."""
    return x


@bundle
def clone(x: Any) -> Any:
    """A deep copy of the value of x."""
    return copy.deepcopy(x)


@bundle
def cond(condition: Any, x: Any, y: Any) -> Any:
    """x when condition is true, otherwise y."""
    return x if condition else y


@bundle
def not_(x: Any) -> bool:
    """not x."""
    return not x


@bundle
def is_(x: Any, y: Any) -> bool:
    """x is y."""
    return x is y


@bundle
def is_not(x: Any, y: Any) -> bool:
    """x is not y."""
    return x is not y


@bundle
def in_(x: Any, y: Any) -> bool:
    """x in y."""
    return x in y


@bundle
def not_in(x: Any, y: Any) -> bool:
    """x not in y."""
    return x not in y


@bundle
def eq(x: Any, y: Any) -> bool:
    """x == y (value equality; == on nodes compares identity)."""
    return bool(x == y)


@bundle
def neq(x: Any, y: Any) -> bool:
    """x != y (value inequality)."""
    return bool(x != y)


ne = neq

# -- numbers ----------------------------------------------------------------------------------


@bundle
def round(x: Any, n: Any = None) -> Any:
    """x rounded to n digits."""
    return builtins.round(x, n)


@bundle
def floor(x: Any) -> Any:
    """The floor of x."""
    return math.floor(x)


@bundle
def ceil(x: Any) -> Any:
    """The ceiling of x."""
    return math.ceil(x)


@bundle
def trunc(x: Any) -> Any:
    """x truncated to an integer."""
    return math.trunc(x)


@bundle
def node_divmod(x: Any, y: Any) -> Any:
    """divmod(x, y)."""
    return divmod(x, y)


# -- sequences and strings --------------------------------------------------------------------


@bundle
def len_(x: Any) -> int:
    """len(x)."""
    return len(x)


@bundle
def ord_(x: Any) -> int:
    """ord(x)."""
    return ord(x)


@bundle
def chr_(x: Any) -> str:
    """chr(x)."""
    return chr(x)


@bundle
def concat(x: Any, y: Any) -> Any:
    """x followed by y (strings or sequences)."""
    return x + y


@bundle
def join(separator: Any, *items: Any) -> str:
    """The items joined by separator."""
    return separator.join(items)


@bundle
def format(template: Any, *args: Any, **kwargs: Any) -> str:
    """template.format(*args, **kwargs)."""
    return template.format(*args, **kwargs)


# -- building containers ----------------------------------------------------------------------


@bundle
def make_list(*items: Any) -> list[Any]:
    """A list of the items."""
    return list(items)


@bundle
def make_tuple(*items: Any) -> tuple[Any, ...]:
    """A tuple of the items."""
    return tuple(items)


@bundle
def make_set(*items: Any) -> set[Any]:
    """A set of the items."""
    return set(items)


@bundle
def make_dict(**items: Any) -> dict[str, Any]:
    """A dict of the keyword items."""
    return dict(items)


@bundle
def to_list(x: Any) -> list[Any]:
    """list(x)."""
    return list(x)


@bundle
def to_tuple(x: Any) -> tuple[Any, ...]:
    """tuple(x)."""
    return tuple(x)


@bundle
def to_set(x: Any) -> set[Any]:
    """set(x)."""
    return set(x)


@bundle
def to_dict(x: Any) -> dict[Any, Any]:
    """dict(x)."""
    return dict(x)


@bundle
def keys(x: Any) -> list[Any]:
    """The keys of the dict x, as a list."""
    return list(x.keys())


@bundle
def values(x: Any) -> list[Any]:
    """The values of the dict x, as a list."""
    return list(x.values())


# -- updates on a copy ------------------------------------------------------------------------


def _updated(x: Any, method: str, *args: Any, **kwargs: Any) -> Any:
    result = copy.copy(x)
    getattr(result, method)(*args, **kwargs)
    return result


@bundle
def dict_update(x: Any, y: Any) -> Any:
    """A copy of the dict x updated with the dict y."""
    return _updated(x, "update", y)


@bundle
def dict_pop(x: Any, key: Any) -> Any:
    """A copy of the dict x without key."""
    return _updated(x, "pop", key)


@bundle
def list_append(x: Any, y: Any) -> Any:
    """A copy of the list x with y appended."""
    return _updated(x, "append", y)


@bundle
def list_extend(x: Any, y: Any) -> Any:
    """A copy of the list x extended by the items of y."""
    return _updated(x, "extend", y)


@bundle
def list_insert(x: Any, index: Any, y: Any) -> Any:
    """A copy of the list x with y inserted at index."""
    return _updated(x, "insert", index, y)


@bundle
def list_pop(x: Any, index: Any = -1) -> Any:
    """A copy of the list x without the item at index."""
    return _updated(x, "pop", index)


@bundle
def list_remove(x: Any, y: Any) -> Any:
    """A copy of the list x without the first item equal to y."""
    return _updated(x, "remove", y)


@bundle
def list_reverse(x: Any) -> Any:
    """A reversed copy of the list x."""
    return _updated(x, "reverse")


@bundle
def list_sort(x: Any, key: Any = None, reverse: Any = False) -> Any:
    """A sorted copy of the list x."""
    return _updated(x, "sort", key=key, reverse=reverse)


@bundle
def set_add(x: Any, y: Any) -> Any:
    """A copy of the set x with y added."""
    return _updated(x, "add", y)


@bundle
def set_discard(x: Any, y: Any) -> Any:
    """A copy of the set x without y."""
    return _updated(x, "discard", y)


@bundle
def set_update(x: Any, y: Any) -> Any:
    """A copy of the set x with the items of y added."""
    return _updated(x, "update", y)


# -- calls ------------------------------------------------------------------------------------


@bundle
def call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """fn(*args, **kwargs)."""
    return fn(*args, **kwargs)


@bundle
def call_llm(system_prompt: Any, *user_prompts: Any, **kwargs: Any) -> str:
    """The reply of the configured LLM to system_prompt and the user prompts."""
    from trace_core.llm import default_llm

    messages = [{"role": "system", "content": system_prompt}]
    messages += [{"role": "user", "content": str(p)} for p in user_prompts]
    return default_llm().complete(messages, **kwargs).text
