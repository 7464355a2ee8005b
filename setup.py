"""The one compiled part of quickphrase, the native featuriser; all else is in pyproject.toml.

It is optional: without a C compiler the install still succeeds and the
model falls back to its NumPy featuriser (same features, slower per message).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("quickphrase.model._ngrams", ["model/_ngrams.pyx"], optional=True),
    ]
)
