"""The engine every surface calls: classify, suggest and check.

>>> from quickphrase.engine import Engine
>>> engine = Engine()
>>> [s.phrase_id.split(".")[0] for s in engine.suggest("亲,能便宜点吗").suggestions]
['bargaining', 'bargaining', 'bargaining']
>>> engine.check("明天肯定能到").verdict
'block'

The CLI, the HTTP sidecar, the batch scorer and the hotkey plugin hold one
``Engine`` each and never re-implement what it does.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .model.classifier import IntentClassifier, Prediction
from .model.risk import RiskModel
from .phrases.compliance import CheckResult, ComplianceFilter
from .phrases.feedback import AcceptanceModel
from .phrases.library import Issue, LibraryError, PhraseLibrary, load_library
from .phrases.lint import lint_library
from .phrases.ranker import DEFAULT_K, Context, Ranker, Suggestion


@dataclass(frozen=True)
class SuggestResult:
    """What the buyer asked and the replies suggested for it."""

    prediction: Prediction
    suggestions: tuple[Suggestion, ...]

    def to_dict(self) -> dict[str, Any]:
        out = self.prediction.to_dict()
        out["suggestions"] = [s.to_dict() for s in self.suggestions]
        return out


class Engine:
    """Intent model, phrase library, ranker and compliance filter, loaded once.

    Parameters
    ----------
    model_dir:
        Model directory (default: ``$QUICKPHRASE_MODEL`` or the bundled model).
    phrases_dir:
        Phrase library directory (default: ``$QUICKPHRASE_PHRASES`` or the
        bundled library).
    rules:
        A shop's own rule files or directories, read after the bundled rules.
    disable_rules:
        Rule ids or categories to switch off.
    risk_model_dir:
        The compliance filter's risk model (default: ``$QUICKPHRASE_RISK_MODEL``
        or the bundled model).
    acceptance:
        Learned acceptance rates for the ranker (the sidecar's feedback store).
    """

    def __init__(
        self,
        model_dir: str | Path | None = None,
        phrases_dir: str | Path | None = None,
        *,
        rules: Iterable[str | Path] = (),
        disable_rules: Iterable[str] = (),
        acceptance: AcceptanceModel | None = None,
        risk_model_dir: str | Path | None = None,
    ) -> None:
        self.classifier = IntentClassifier(model_dir)
        self._sources = (phrases_dir, tuple(rules), tuple(disable_rules))
        self.risk_model = RiskModel(risk_model_dir)
        self.compliance = ComplianceFilter.load(
            rules, disable=disable_rules, risk_model=self.risk_model
        )
        self.library: PhraseLibrary = load_library(phrases_dir, intents=self.classifier.labels)
        self.ranker = Ranker(self.library, self.compliance, acceptance=acceptance)

    def reload(self) -> tuple[Engine, list[Issue]]:
        """A new engine over the same model with the phrase library and rules
        read again, and the library's lint warnings.

        Raises ``LibraryError`` with every lint error (a phrase the rules block
        is one) and ``RuleError`` for a broken rules file; ``self`` is untouched.
        """
        phrases_dir, rules, disable = self._sources
        compliance = ComplianceFilter.load(rules, disable=disable, risk_model=self.risk_model)
        issues = lint_library(phrases_dir, intents=self.classifier.labels, compliance=compliance)
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            raise LibraryError(errors)
        fresh = copy.copy(self)
        fresh.compliance = compliance
        fresh.library = load_library(phrases_dir, intents=self.classifier.labels)
        fresh.ranker = Ranker(fresh.library, compliance, acceptance=self.ranker.acceptance)
        return fresh, issues

    def classify(self, text: str) -> Prediction:
        return self.classifier.predict(text)

    def suggest(
        self,
        text: str,
        *,
        shop_type: str = "taobao",
        k: int = DEFAULT_K,
        stage: str | None = None,
        order_status: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> SuggestResult:
        """Classify ``text`` and suggest up to ``k`` compliant phrases."""
        context = Context(shop_type, stage, order_status, dict(variables or {}))
        prediction = self.classifier.predict(text)
        return SuggestResult(prediction, tuple(self.ranker.rank(prediction, context, k)))

    def suggest_many(
        self,
        texts: Iterable[str],
        context: Context | None = None,
        k: int = DEFAULT_K,
        *,
        contexts: Iterable[Context] | None = None,
    ) -> Iterator[SuggestResult]:
        """Suggestions for many messages, in order (classified in batches).

        One ``context`` for all, or ``contexts``: one per message.
        """
        each = iter(contexts) if contexts is not None else itertools.repeat(context or Context())
        for prediction in self.classifier.iter_predict(texts):
            ctx = next(each)
            yield SuggestResult(prediction, tuple(self.ranker.rank(prediction, ctx, k)))

    def check(self, text: str, shop_type: str = "taobao") -> CheckResult:
        """The compliance verdict on a reply an agent is about to send."""
        return self.compliance.check(text, shop_type)
