"""Mermaid and DOT text from a definition: what a supervisor pastes into a report or a wiki."""
from __future__ import annotations

from engine.domain.definition.model import Definition


def _label(t) -> str:
    text = t.trigger + (f" ({t.label})" if t.label else "")
    return text.replace('"', "'")


def mermaid(d: Definition) -> str:
    lines = ["stateDiagram-v2", f"    %% {d.name}: {d.title}".rstrip(": ")]
    for s in d.states:
        if s.label:
            lines.append(f"    state \"{s.name} {s.label}\" as {_id(s.name)}")
    lines.append(f"    [*] --> {_id(d.initial)}")
    for t in d.transitions:
        for src in t.sources:
            lines.append(f"    {_id(src)} --> {_id(t.dest)}: {_label(t)}")
    for s in d.states:
        if s.final:
            lines.append(f"    {_id(s.name)} --> [*]")
    return "\n".join(lines) + "\n"


def dot(d: Definition) -> str:
    lines = [f'digraph "{d.name}" {{', "    rankdir=LR;", '    node [shape=box, style=rounded, fontname="sans-serif"];',
             '    __start [shape=point, label=""];']
    for s in d.states:
        shape = ", peripheries=2" if s.final else ""
        label = f"{s.name}\\n{s.label}" if s.label else s.name
        lines.append(f'    "{s.name}" [label="{label}"{shape}];')
    lines.append(f'    __start -> "{d.initial}";')
    for t in d.transitions:
        for src in t.sources:
            lines.append(f'    "{src}" -> "{t.dest}" [label="{_label(t)}"];')
    lines.append("}")
    return "\n".join(lines) + "\n"


def _id(name: str) -> str:
    # Mermaid state ids may not contain '-'.
    return name.replace("-", "_")
