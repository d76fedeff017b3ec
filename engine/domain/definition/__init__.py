"""Workflow definitions: the model (frozen values), the YAML source, the parser and the static checks."""

# What `hazard case decide CASE extension ...` decides: an extension application, never a rung of the ladder.
# Here rather than in model.py (which imports it too): folding a case's decisions needs the name alone, and
# `case show` should not build the definition's ten classes for it.
EXTENSION = "extension"
