"""The compiled parts of quickphrase; all else is in pyproject.toml.

All are optional: without a C compiler the install still succeeds, the model
falls back to its NumPy featuriser and jieba's own cut (same features and
tokens, slower per message) and the batch splitter to counting CSV records
with ``csv`` (same counts, slower).
"""

from setuptools import Extension, setup


def native(module: str, source: str) -> Extension:
    # include_dirs: the model's parts cimport shared helpers from model/_native.pxd.
    return Extension(
        f"quickphrase.{module}", [source], include_dirs=["model"], optional=True
    )


setup(
    ext_modules=[
        native("model._ngrams", "model/_ngrams.pyx"),
        native("model._dag", "model/_dag.pyx"),
        native("service.batch._records", "service/batch/_records.pyx"),
    ]
)
