"""YAML text to plain Python values that remember the line each came from.

`on`, `off`, `yes` and `no` stay strings: YAML 1.1 turns them into booleans, and a state called `on`
or a field value `no` must not silently change type. Only `true`/`false` are booleans here.
Nothing is constructed from tags: the safe loader refuses `!!python/...`.
Size, nesting depth, aliases and the size after expanding aliases are bounded (engine/domain/limits.py), so no
file can exhaust the stack, the memory or the time of the process reading it.
"""
from __future__ import annotations

import os
import re

import yaml

from engine.domain.errors import DefinitionInvalid
from engine.domain.limits import MAX_DEFINITION_BYTES, MAX_YAML_ALIASES, MAX_YAML_DEPTH, MAX_YAML_NODES


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
    """The safe loader, counting nesting depth and aliases while it composes (the composer recurses)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.depth = 0
        self.aliases = 0
        self.nodes = 0      # composed: each value written in the file
        self.expanded = 0   # converted: each alias's value counted again

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                raise _TooBig(self.peek_event(), f"more than {MAX_YAML_ALIASES} aliases (*name) in one definition")
        else:
            self.nodes += 1  # stop a long flat file here, before converting (and expanding) anything
            if self.nodes > MAX_YAML_NODES:
                raise _TooBig(self.peek_event(), f"more than {MAX_YAML_NODES:,} values once aliases are expanded")
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _TooBig(self.peek_event(), f"nested more than {MAX_YAML_DEPTH} levels deep (definitions need under 10)")
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


class _TooBig(Exception):
    def __init__(self, at, message: str):
        super().__init__(message)
        self.line = _line(at)
        self.message = message


# Drop YAML 1.1's yes/no/on/off booleans, keep true/false.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _StoredLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """libyaml's composer (about six times the pure-Python one) for a text the engine stored after reading it
    with _Loader's bounds and whose hash it has just checked: every command that advances a case parses its
    definition once. The same booleans; libyaml bounds the nesting itself, and _convert still counts what
    aliases expand to."""

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers

    def __init__(self, stream):
        super().__init__(stream)
        self.expanded = 0


def _line(node) -> int:
    return node.start_mark.line + 1


def _convert(node, loader: _Loader):
    loader.expanded += 1
    if loader.expanded > MAX_YAML_NODES:  # aliases expand here: each use of an anchor counts again
        raise _TooBig(node, f"more than {MAX_YAML_NODES:,} values once aliases are expanded")
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
    try:
        value = loader.construct_object(node, deep=True)
    except (ValueError, OverflowError) as exc:  # 2026-13-45 as a timestamp, an integer of 5,000 digits
        reason = str(exc).split(";")[0]  # Python's digit-limit message goes on about sys.set_int_max_str_digits
        raise DefinitionInvalid([("", _line(node), f"cannot read {_shown(node.value)}: {reason}")]) from None
    if isinstance(value, str):
        # The reader refuses control characters written as such; a quoted escape ("\0", "\e") makes one too,
        # which would become a state name or label SQLite stores and PostgreSQL refuses.
        bad = next((char for char in value if (ord(char) < 32 and char not in "\t\n\r") or 0x7F <= ord(char) < 0xA0), None)
        if bad is not None:
            raise DefinitionInvalid([("", _line(node), f"{_shown(value)} holds the control character "
                                                       f"{_character(bad)}, which is not allowed")])
    return value


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def read_file(path: str) -> str:
    """A definition file's text; anything that is not a readable UTF-8 file of bounded size is a problem
    of that file (`FILE:1: ...`), like any other."""
    def problem(message: str) -> DefinitionInvalid:
        return DefinitionInvalid([(path, 1, message)])
    if os.path.isdir(path):
        raise problem("is a directory, not a workflow file")
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_DEFINITION_BYTES + 1)
    except OSError as exc:
        raise problem(f"cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_DEFINITION_BYTES:
        raise problem(f"is larger than the limit of {MAX_DEFINITION_BYTES // 1024} KiB for a definition")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DefinitionInvalid([(path, line, f"not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
                                              "save the file as UTF-8")]) from None


def load(text: str, filename: str, *, stored: bool = False) -> Mapping:
    """Parse one YAML document; a syntax error becomes DefinitionInvalid with its line. `stored`: a text read
    from the database whose hash was checked (it passed this function's bounds when installed)."""
    if len(text) > MAX_DEFINITION_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_DEFINITION_BYTES:
        raise DefinitionInvalid([(filename, 1, f"larger than the limit of {MAX_DEFINITION_BYTES // 1024} KiB "
                                               "for a definition")])
    loader = None
    try:
        loader = _StoredLoader(text) if stored else _Loader(text)  # checks every character first
        node = loader.get_single_node()
        if node is None:
            raise DefinitionInvalid([(filename, 1, "the file is empty")])
        value = _convert(node, loader)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise DefinitionInvalid([(filename, line, f"character {_character(exc.character)} is not allowed in "
                                                  "a definition (YAML allows no control characters and no undecodable bytes)")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise DefinitionInvalid([(filename, line, f"YAML syntax: {exc.problem or exc}")]) from None
    except _TooBig as exc:
        raise DefinitionInvalid([(filename, exc.line, f"too large to read: {exc.message}")]) from None
    except DefinitionInvalid as exc:
        raise DefinitionInvalid([(filename, line, msg) for _, line, msg in exc.problems]) from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(value, Mapping):
        raise DefinitionInvalid([(filename, 1, "a workflow definition must be a mapping of keys")])
    return value


def _character(code) -> str:
    value = code if isinstance(code, int) else ord(code)
    names = {0: "NUL", 0x1B: "ESC", 0x7F: "DEL"}
    return f"U+{value:04X}" + (f" ({names[value]})" if value in names else "")
