"""YAML text to plain Python values that remember the line each came from.

`on`, `off`, `yes` and `no` stay strings: YAML 1.1 turns them into booleans, and a state called `on`
or a field value `no` must not silently change type. Only `true`/`false` are booleans here.
Nothing is constructed from tags: the safe loader refuses `!!python/...`.
"""
from __future__ import annotations

import re

import yaml

from engine.errors import DefinitionInvalid


class Mapping(dict):
    """A dict from YAML; `line` is where it starts, `key_lines[key]` where each key is written."""

    line: int = 0
    key_lines: dict

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class Sequence(list):
    """A list from YAML; `line` is where it starts, `item_lines[i]` where each item is written."""

    line: int = 0
    item_lines: list

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(yaml.SafeLoader):
    pass


# Drop YAML 1.1's yes/no/on/off booleans, keep true/false.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _line(node) -> int:
    return node.start_mark.line + 1


def _convert(node, loader: _Loader):
    if isinstance(node, yaml.MappingNode):
        result = Mapping()
        result.line = _line(node)
        result.key_lines = {}
        for key_node, value_node in node.value:
            key = _convert(key_node, loader)
            if isinstance(key, (dict, list)):
                raise DefinitionInvalid([("", _line(key_node), "a key must be a plain word")])
            if key in result:
                # YAML would keep the last silently; a state written twice could lose its `final: true`.
                raise DefinitionInvalid([("", _line(key_node), f"'{key}' is written twice in this mapping "
                                                                f"(first at line {result.key_lines[key]})")])
            result[key] = _convert(value_node, loader)
            result.key_lines[key] = _line(key_node)
        return result
    if isinstance(node, yaml.SequenceNode):
        result = Sequence(_convert(item, loader) for item in node.value)
        result.line = _line(node)
        result.item_lines = [_line(item) for item in node.value]
        return result
    return loader.construct_object(node, deep=True)


def load(text: str, filename: str) -> Mapping:
    """Parse one YAML document; a syntax error becomes DefinitionInvalid with its line."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DefinitionInvalid([(filename, 1, "the file is empty")])
        value = _convert(node, loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise DefinitionInvalid([(filename, line, f"YAML syntax: {exc.problem or exc}")]) from None
    except DefinitionInvalid as exc:
        raise DefinitionInvalid([(filename, line, msg) for _, line, msg in exc.problems]) from None
    finally:
        loader.dispose()
    if not isinstance(value, Mapping):
        raise DefinitionInvalid([(filename, 1, "a workflow definition must be a mapping of keys")])
    return value
