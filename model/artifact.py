"""Where a trained model lives on disk and how it is read back.

An intent model directory holds three files written by ``quickphrase train``:

- ``intent.onnx``: the linear model and its probability calibration;
- ``features.json``: the n-gram analyzers, their vocabularies and idf weights;
- ``metadata.json``: labels, thresholds, version, corpus hash, dev metrics.

The reply-risk model (``quickphrase train-risk``) has the same layout with
``risk.onnx`` and per-category thresholds; the bundled one is in
``artifacts/risk/``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .features import NgramFeaturizer

ONNX_FILE = "intent.onnx"
RISK_ONNX_FILE = "risk.onnx"
FEATURES_FILE = "features.json"
METADATA_FILE = "metadata.json"
MODEL_ENV = "QUICKPHRASE_MODEL"
RISK_MODEL_ENV = "QUICKPHRASE_RISK_MODEL"

BUNDLED_MODEL_DIR = Path(str(resources.files(__package__) / "artifacts"))
BUNDLED_RISK_DIR = BUNDLED_MODEL_DIR / "risk"


class ModelLoadError(RuntimeError):
    """A model file is missing or unreadable; the message names the file."""


@dataclass(frozen=True)
class Thresholds:
    """Confidence cut-offs chosen on the dev set at training time."""

    abstain: float  # below this the whole message is "other"
    clause: float  # a clause adds its intent to a multi-intent answer above this


@dataclass(frozen=True)
class ModelFiles:
    onnx_bytes: bytes
    features: list[dict[str, Any]]
    metadata: dict[str, Any]

    @property
    def labels(self) -> list[str]:
        return list(self.metadata["labels"])

    @property
    def thresholds(self) -> Thresholds:
        t = self.metadata["thresholds"]
        return Thresholds(abstain=float(t["abstain"]), clause=float(t["clause"]))


def resolve_model_dir(model_dir: str | Path | None = None) -> Path:
    """The model to use: the argument, else ``$QUICKPHRASE_MODEL``, else the bundled one."""
    if model_dir:
        return Path(model_dir)
    env = os.environ.get(MODEL_ENV)
    return Path(env) if env else BUNDLED_MODEL_DIR


def read_model_files(model_dir: Path) -> ModelFiles:
    """An intent model's files, checked for labels and thresholds."""
    files = read_artifact(model_dir, ONNX_FILE)
    meta = files.metadata
    problem = None
    if not isinstance(meta, dict):
        problem = "is not a JSON object"
    elif not isinstance(meta.get("labels"), list) or len(meta["labels"]) < 2:
        problem = "needs a list of at least two 'labels'"
    elif not isinstance(meta.get("thresholds"), dict) or not all(
        isinstance(meta["thresholds"].get(k), int | float) for k in ("abstain", "clause")
    ):
        problem = "needs numeric 'thresholds' for 'abstain' and 'clause'"
    if problem:
        raise ModelLoadError(f"model file {model_dir / METADATA_FILE} {problem}")
    return files


def read_artifact(model_dir: Path, onnx_file: str) -> ModelFiles:
    """The graph, features and metadata of a model directory, unchecked."""

    def read(name: str) -> bytes:
        path = model_dir / name
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ModelLoadError(f"model file not found: {path}") from None
        except OSError as exc:
            raise ModelLoadError(f"cannot read model file {path}: {exc.strerror}") from None

    def read_json(name: str) -> Any:
        try:
            return json.loads(read(name).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"model file {model_dir / name} is corrupt: {exc}") from None

    return ModelFiles(
        onnx_bytes=read(onnx_file),
        features=read_json(FEATURES_FILE),
        metadata=read_json(METADATA_FILE),
    )


def load_featurizer(files: ModelFiles, model_dir: Path, native: bool | None) -> NgramFeaturizer:
    """The serving featuriser of a model directory; a malformed file names itself."""
    try:
        return NgramFeaturizer.from_config(files.features, native=native)
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(
            f"model file {model_dir / FEATURES_FILE} is malformed: {exc!r}"
        ) from None
