"""Reading a Prometheus scrape in tests: samples by name and labels, and the names it holds."""

from __future__ import annotations

import re

import attrs
from prometheus_client.parser import text_string_to_metric_families

SUFFIXES = ("_total", "_bucket", "_count", "_sum", "_created")

_EXPORTED = re.compile(r"\b((?:novapulse|process)_[a-z0-9_]+)\b")
_NODE_EXPORTER = re.compile(r"\b(node_[A-Za-z0-9_]+)\b")


@attrs.frozen
class Sample:
    name: str
    labels: dict[str, str]
    value: float


@attrs.frozen
class Scrape:
    """One scrape's samples. `total` adds up the samples of `name` whose labels include the
    given ones (so `total("novapulse_jobs_failed_total", queue="email")` spans outcomes)."""

    samples: list[Sample]
    families: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples: list[Sample] = []
        families: set[str] = set()
        for family in text_string_to_metric_families(text):
            families.add(family.name)
            for sample in family.samples:
                samples.append(Sample(sample.name, dict(sample.labels), sample.value))
        return cls(samples, frozenset(families))

    def matching(self, name: str, **labels: str) -> list[Sample]:
        return [
            s
            for s in self.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def total(self, name: str, **labels: str) -> float:
        return sum(s.value for s in self.matching(name, **labels))

    def value(self, name: str, **labels: str) -> float:
        """The one sample of `name` with exactly these labels (0 when there is none)."""
        found = [s for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, found
        return found[0].value if found else 0.0

    def exports(self, name: str) -> bool:
        """True when `name` (or its family, for `_total`, `_bucket`... names) is in the scrape."""
        if name in self.families or any(s.name == name for s in self.samples):
            return True
        return any(name.endswith(s) and name.removesuffix(s) in self.families for s in SUFFIXES)


def exported_names(promql: str) -> set[str]:
    """The NovaPulse and process metric names a PromQL expression reads."""
    return set(_EXPORTED.findall(promql))


def node_exporter_names(promql: str) -> set[str]:
    """The node_exporter metric names a PromQL expression reads."""
    return set(_NODE_EXPORTER.findall(promql))
