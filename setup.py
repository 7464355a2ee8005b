"""The compiled parts of quickphrase; all else is in pyproject.toml.

Both are optional: without a C compiler the install still succeeds, the
model falls back to its NumPy featuriser and jieba's own cut (same
features and tokens, slower per message).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("quickphrase.model._ngrams", ["model/_ngrams.pyx"], optional=True),
        Extension("quickphrase.model._dag", ["model/_dag.pyx"], optional=True),
    ]
)
