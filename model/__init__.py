"""Intent classification at serving time: onnxruntime, numpy and jieba only.

>>> from quickphrase.model import IntentClassifier
>>> clf = IntentClassifier()
>>> clf.predict("亲,能便宜点吗").intent
'bargaining'
"""

from .artifact import ModelLoadError, resolve_model_dir
from .classifier import IntentClassifier, IntentScore, Prediction
from .normalize import normalize
from .segment import Segmenter

__all__ = [
    "IntentClassifier",
    "IntentScore",
    "ModelLoadError",
    "Prediction",
    "Segmenter",
    "normalize",
    "resolve_model_dir",
]
