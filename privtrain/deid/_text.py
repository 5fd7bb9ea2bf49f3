"""Span-level anonymization of free text with presidio's AnonymizerEngine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from privtrain.deid._engine import DetectedSpan
from privtrain.deid._policy import DeidPolicy, Transform
from privtrain.deid._transforms import (
    PseudonymKey,
    date_offset_days,
    generalize_age_phrase,
    generalize_date,
    generalize_zip,
    mask,
    pseudonym,
    shift_date,
    tag,
)

_MAX_EXAMPLES = 3


class TextScrubber:
    """Applies the policy's ``free_text`` transforms to detected spans.

    Pseudonyms come from the same keyed function as structured columns, so a person gets the
    same token in a name column and in a note. Spans found from the row's own values
    (``DetectedSpan.canonical``) get the pseudonym of that value ("Mr. Smith" in John Smith's
    note -> John Smith's token).
    """

    def __init__(self, policy: DeidPolicy, key: PseudonymKey) -> None:
        self.policy = policy
        self.key = key
        self.anonymizer = AnonymizerEngine()
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}
        self._static: dict[str, OperatorConfig] = {}

    def _operator(
        self, entity: str, canon: dict[str, str], person_token: str | None
    ) -> OperatorConfig:
        t: Transform = self.policy.text_transform(entity)
        a = t.action
        if a == "keep":
            return OperatorConfig("keep")
        if a in ("redact", "drop"):
            return OperatorConfig("redact")
        if a in ("replace", "scrub"):
            return OperatorConfig("replace", {"new_value": tag(entity, t)})
        fn: Callable[[str], str]
        fallback = tag(entity, t)
        if a == "mask":

            def fn(v: str) -> str:
                return mask(v, t.keep_last, t.mask_char)

        elif a == "pseudonymize":

            def fn(v: str) -> str:
                return pseudonym(entity, canon.get(v, v), self.key)

        elif a == "generalize":
            if entity == "AGE":

                def fn(v: str) -> str:
                    return generalize_age_phrase(v, t.band, t.top) or fallback

            elif entity == "ZIP":

                def fn(v: str) -> str:
                    return generalize_zip(v, t.digits, t.restricted_zip3) or fallback

            else:

                def fn(v: str) -> str:
                    return generalize_date(v, t.granularity) or fallback

        elif a == "date_shift":
            days = date_offset_days(person_token, self.key, t.max_days) if person_token else None

            def fn(v: str) -> str:
                return (shift_date(v, days) if days is not None else None) or fallback

        else:  # pragma: no cover - the policy model rejects other actions
            raise ValueError(a)
        return OperatorConfig("custom", {"lambda": fn})

    def scrub(
        self, text: str, spans: Sequence[DetectedSpan], person_token: str | None = None
    ) -> str:
        """``text`` with every span replaced as the policy says."""
        if not spans:
            return text
        canon = {text[s.start : s.end]: s.canonical for s in spans if s.canonical is not None}
        entities = {s.entity for s in spans}
        operators = {e: self._operator(e, canon, person_token) for e in entities}
        results = [RecognizerResult(s.entity, s.start, s.end, s.score) for s in spans]
        out = self.anonymizer.anonymize(text=text, analyzer_results=results, operators=operators)
        for item in out.items:
            self.counts[item.entity_type] += 1
            ex = self.examples.setdefault(item.entity_type, [])
            # examples are replacements only - never a kept original
            if item.operator != "keep" and item.text and item.text not in ex:
                if len(ex) < _MAX_EXAMPLES:
                    ex.append(item.text)
        return out.text
