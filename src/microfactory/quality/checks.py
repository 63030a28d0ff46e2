"""From a catalog check to a ready inspector: settings resolved, model files found, built once.

`recording` judges every unit through here, so the API, the CLI and the demo build inspectors the
one way, `kinds.build_inspector({"inspector": KIND, **check.settings})`, with two things only the
service knows filled in:

- a `model` path (the variation model) is resolved against `MICROFACTORY_QUALITY_MODEL_DIR` when it
  is relative (else against the working directory), its `{option}` placeholders filled from the
  unit's options; a model file that is not there is a `MissingModel` (HTTP 409, exit 4) naming the
  file and how to train one, never a 500;
- built inspectors are kept per resolved settings and model file version (its size and mtime), so
  a model is read once per process, and a retrained file is read again.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from microfactory.catalog.model import InspectionCheck
from microfactory.errors import Conflict, Invalid
from microfactory.problems import Problem
from microfactory.quality.inspectors import Inspector
from microfactory.quality.inspectors.kinds import build_inspector

KEEP = 32  # built inspectors kept per process (one per model file and settings)


class MissingModel(Conflict):
    """A check names a model file that is not there (yet): train it first."""

    def __init__(self, path: Path, template: str) -> None:
        super().__init__(
            f"the variation model {path} (catalog: model: {template}) does not exist; train it with "
            f"`microfactory inspect train --inspector variation --good DIR --out {path}` "
            "or set MICROFACTORY_QUALITY_MODEL_DIR to the directory that holds it"
        )
        self.path = path


def model_path(template: str, options: Mapping[str, object], model_dir: str | None) -> Path:
    """The model file a check's `model` names for these options, under the model directory."""
    try:
        named = Path(template.format_map({key: str(value) for key, value in options.items()}))
    except (KeyError, ValueError, IndexError) as error:
        problem = Problem("model", f"{template!r} names an option the unit lacks: {error}")
        raise Invalid("the variation model cannot be chosen", [problem]) from None
    return named if named.is_absolute() or model_dir is None else Path(model_dir) / named


def check_spec(
    check: InspectionCheck, options: Mapping[str, object], model_dir: str | None
) -> dict[str, Any]:
    """The inspector's settings for this unit: `{"inspector": KIND, **settings}`, `model` resolved."""
    spec: dict[str, Any] = {"inspector": check.inspector, **dict(check.settings)}
    template = spec.get("model")
    if isinstance(template, str):
        path = model_path(template, options, model_dir)
        if not path.is_file():
            raise MissingModel(path, template)
        spec["model"] = str(path)
    return spec


class Inspectors:
    """Inspectors built from resolved check settings, kept (least recently used first out)."""

    def __init__(self, keep: int = KEEP) -> None:
        self._built: OrderedDict[str, Inspector] = OrderedDict()
        self._keep = keep
        self._lock = threading.Lock()

    def get(self, spec: Mapping[str, Any]) -> Inspector:
        key = _key(spec)
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
        inspector = build_inspector(spec)
        with self._lock:
            self._built[key] = inspector
            while len(self._built) > self._keep:
                self._built.popitem(last=False)
        return inspector


def _key(spec: Mapping[str, Any]) -> str:
    version = None
    model = spec.get("model")
    if isinstance(model, str):
        stat = Path(model).stat()
        version = [stat.st_size, stat.st_mtime_ns]
    return json.dumps([spec, version], sort_keys=True, default=str)


INSPECTORS = Inspectors()
