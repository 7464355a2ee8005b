"""onnxruntime sessions as both models run them: one thread pool, no logs."""

from __future__ import annotations

import onnxruntime as ort


def inference_session(onnx_bytes: bytes, threads: int = 1) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads (one is fastest for
    chat-sized batches; spread large batches over processes instead)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
