"""Export a fitted scikit-learn pipeline (intent or risk model) to the serving artifacts.

The serving featuriser (``quickphrase.model.features``) turns a message into
its n-gram column ids and normalised TF-IDF weights; the graph gathers the
matching rows of the first layer's weights and sums them. For a linear
model that is the decision: add the intercept and apply the classifier's
calibration (softmax for logistic regression, temperature or sigmoid
calibrators for ``CalibratedClassifierCV``). For a one-hidden-layer
``MLPClassifier`` the sum is the hidden layer: add its bias, apply ReLU, then
the output layer and softmax. Either way it is exactly what scikit-learn's
``predict_proba`` computes.

Why not skl2onnx's ``TfidfVectorizer`` converter: its ONNX operator emits a
dense vocabulary-sized vector per message, about 0.6 ms per message at 30k
n-grams on this hardware; gathering only the message's own n-grams is ~20x
faster. ``tests/test_export.py`` holds the served probabilities to
scikit-learn's ``predict_proba``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import FeatureUnion, Pipeline

from .pipeline import strip_spaces

OPSET = 17


def feature_config(pipeline: Pipeline) -> list[dict[str, Any]]:
    """The analyzers, vocabularies and idf weights the serving featuriser needs."""
    config = []
    for _, vec in _vectorizers(pipeline):
        vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.__getitem__)
        config.append(
            {
                "analyzer": vec.analyzer,
                "ngram_range": list(vec.ngram_range),
                "sublinear_tf": bool(vec.sublinear_tf),
                "strip_spaces": _strips_spaces(vec),
                "vocabulary": vocab,
                "idf": [float(x) for x in vec.idf_],
            }
        )
    return config


def to_onnx(
    pipeline: Pipeline, labels: list[str], *, version: str = "", name: str = "quickphrase_intent"
) -> onnx.ModelProto:
    """Build the ONNX graph for a fitted ``features -> classifier`` pipeline."""
    classifier = pipeline.named_steps["classifier"]
    if list(classifier.classes_) != labels:
        raise ValueError("labels must be the classifier's classes in order")
    if isinstance(classifier, MLPClassifier):
        first, bias = _hidden_layer(classifier)
    else:
        first, bias = _linear_parts(classifier)
    width = sum(len(vec.vocabulary_) for _, vec in _vectorizers(pipeline))
    if width != first.shape[1]:
        raise ValueError("vectorizer vocabularies do not match the classifier's features")
    # One extra zero row for the padding id.
    weights = np.vstack([first.T, np.zeros((1, first.shape[0]))]).astype(np.float32)
    inits = [
        numpy_helper.from_array(weights, "coef"),
        numpy_helper.from_array(bias.astype(np.float32), "intercept"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
    ]
    nodes = [
        helper.make_node("Gather", ["coef", "ids"], ["rows"]),
        helper.make_node("Unsqueeze", ["weights", "axis1"], ["weights3"]),
        helper.make_node("MatMul", ["weights3", "rows"], ["dot3"]),
        helper.make_node("Squeeze", ["dot3", "axis1"], ["dot"]),
        helper.make_node("Add", ["dot", "intercept"], ["decision"]),
        *_output_nodes(classifier, inits),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "ngrams"]),
            helper.make_tensor_value_info("weights", TensorProto.FLOAT, ["batch", "ngrams"]),
        ],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", len(labels)])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.producer_name = "quickphrase"
    model.model_version = 1
    helper.set_model_props(model, {"labels": ",".join(labels), "version": version})
    onnx.checker.check_model(model)
    return model


def _strips_spaces(vec: TfidfVectorizer) -> bool:
    if vec.preprocessor is None:
        return False
    if vec.preprocessor is strip_spaces and vec.analyzer == "char":
        return True
    raise ValueError("the serving featuriser only knows the strip_spaces preprocessor")


def _vectorizers(pipeline: Pipeline) -> list[tuple[str, TfidfVectorizer]]:
    union = pipeline.named_steps["features"]
    if not isinstance(union, FeatureUnion):
        raise TypeError("the 'features' step must be a FeatureUnion of TfidfVectorizers")
    return [(name, vec) for name, vec in union.transformer_list]


def _linear_parts(classifier: Any) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(classifier, CalibratedClassifierCV):
        (calibrated,) = classifier.calibrated_classifiers_
        base = calibrated.estimator
    else:
        base = classifier
    coef = np.asarray(base.coef_, dtype=np.float64)
    intercept = np.asarray(base.intercept_, dtype=np.float64)
    if coef.shape[0] == 1:
        raise ValueError("binary classifiers are not supported: train at least three intents")
    return coef, intercept


def _hidden_layer(classifier: MLPClassifier) -> tuple[np.ndarray, np.ndarray]:
    if len(classifier.coefs_) != 2 or classifier.activation != "relu":
        raise ValueError("only MLPs with one ReLU hidden layer are exported")
    if classifier.out_activation_ != "softmax":
        raise ValueError("only single-label models of three or more labels are exported")
    return np.asarray(classifier.coefs_[0]).T, np.asarray(classifier.intercepts_[0])


def _output_nodes(classifier: Any, inits: list[onnx.TensorProto]) -> list[onnx.NodeProto]:
    if isinstance(classifier, MLPClassifier):
        inits += [
            numpy_helper.from_array(classifier.coefs_[1].astype(np.float32), "output_coef"),
            numpy_helper.from_array(
                classifier.intercepts_[1].astype(np.float32), "output_intercept"
            ),
        ]
        return [
            helper.make_node("Relu", ["decision"], ["hidden"]),
            helper.make_node("MatMul", ["hidden", "output_coef"], ["output_dot"]),
            helper.make_node("Add", ["output_dot", "output_intercept"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ]
    if isinstance(classifier, LogisticRegression):
        return [helper.make_node("Softmax", ["decision"], ["probabilities"], axis=1)]
    if isinstance(classifier, CalibratedClassifierCV) and classifier.method == "temperature":
        (calibrated,) = classifier.calibrated_classifiers_
        beta = np.array([calibrated.calibrators[0].beta_], dtype=np.float32)
        inits.append(numpy_helper.from_array(beta, "inverse_temperature"))
        return [
            helper.make_node("Mul", ["decision", "inverse_temperature"], ["logits"]),
            helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
        ]
    if isinstance(classifier, CalibratedClassifierCV) and classifier.method == "sigmoid":
        (calibrated,) = classifier.calibrated_classifiers_
        slopes = np.array([c.a_ for c in calibrated.calibrators], dtype=np.float32)
        offsets = np.array([c.b_ for c in calibrated.calibrators], dtype=np.float32)
        inits += [
            numpy_helper.from_array(-slopes, "neg_slopes"),
            numpy_helper.from_array(-offsets, "neg_offsets"),
        ]
        # scikit-learn: p_k = expit(-(a_k * f_k + b_k)), then rows normalised.
        return [
            helper.make_node("Mul", ["decision", "neg_slopes"], ["scaled"]),
            helper.make_node("Add", ["scaled", "neg_offsets"], ["logits"]),
            helper.make_node("Sigmoid", ["logits"], ["per_class"]),
            helper.make_node("ReduceSum", ["per_class", "axis1"], ["total"], keepdims=1),
            helper.make_node("Div", ["per_class", "total"], ["probabilities"]),
        ]
    raise TypeError(f"cannot export classifier {type(classifier).__name__}")
