"""Reads a YAML file a person wrote into a pydantic model; every problem names file and field."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from services.config.textfile import UnreadableFile, read_text

__all__ = ["InputFileError", "field_path", "load_model", "read_yaml"]

M = TypeVar("M", bound=BaseModel)


class InputFileError(ValueError):
    """A file a person wrote cannot be used; the message names the file and the field."""


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML loading that refuses a mapping key given twice (the last would silently win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", node.value[i][0].start_mark
                )
        return super().construct_mapping(node, deep=deep)


def field_path(loc: tuple[int | str, ...]) -> str:
    """`periods[1].rate_per_s: ` from pydantic's location tuple; empty for a whole-file check."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return f"{out}: " if out else ""


def read_yaml(path: Path, error: type[InputFileError]) -> dict[str, Any]:
    """The top-level mapping of a UTF-8 YAML file."""
    try:
        raw = yaml.load(read_text(path), Loader=_UniqueKeyLoader)
    except UnreadableFile as exc:
        raise error(f"{path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: invalid YAML{at}: {problem}") from None
    except (ValueError, RecursionError) as exc:  # a date that does not exist; deep nesting
        raise error(f"{path}: invalid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise error(f"{path}: expected a mapping at the top level")
    return raw


def load_model(path: Path, model: type[M], error: type[InputFileError]) -> M:
    """Validate the file against `model`; a problem becomes `error` naming file and field."""
    raw = read_yaml(path, error)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = [
            f"{field_path(tuple(e['loc']))}{e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors(include_url=False)
        ]
        raise error(f"{path}: " + "; ".join(problems)) from None
    except RecursionError:
        raise error(f"{path}: nested too deeply") from None
