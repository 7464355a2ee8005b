"""The compiled parts of quickphrase; all else is in pyproject.toml.

Both are optional: without a C compiler the install still succeeds, the
model falls back to its NumPy featuriser and jieba's own cut (same
features and tokens, slower per message).
"""

from setuptools import Extension, setup


def native(name: str) -> Extension:
    # include_dirs: both cimport their shared helpers from model/_native.pxd.
    return Extension(
        f"quickphrase.model.{name}", [f"model/{name}.pyx"], include_dirs=["model"], optional=True
    )


setup(ext_modules=[native("_ngrams"), native("_dag")])
