"""quickphrase: reply assistant for Chinese e-commerce customer service.

The parts live in their own top-level folders and install under this
namespace: ``quickphrase.model`` (inference), ``quickphrase.training``
(corpus and training), ``quickphrase.phrases`` (phrase library),
``quickphrase.service`` (CLI and other surfaces).
"""

__version__ = "0.1.0"
