"""Fault injection: latency, throttling, server errors and dropped connections, reproducible
from a seed. Each decision is a pure function of (seed, method, path, n-th request for that
method and path), so concurrent clients do not change which request gets which fault."""
from __future__ import annotations

import hashlib
from collections import defaultdict

DEFAULTS = {
    "seed": 0,
    "latency_ms": 0,
    "rate_429": 0.0,
    "retry_after": 1,
    "rate_500": 0.0,
    "rate_503": 0.0,
    "rate_drop": 0.0,
    # "before": the request is not processed; "after": it is processed, then the reply is lost
    "drop_phase": "before",
    "targets": ["arm", "graph"],
}


class Faults:
    def __init__(self):
        self.config = dict(DEFAULTS)
        self._counters: dict[tuple[str, str], int] = defaultdict(int)
        self.injected: dict[str, int] = defaultdict(int)

    def configure(self, changes: dict) -> dict:
        unknown = set(changes) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        self.config = {**DEFAULTS, **changes}
        self._counters.clear()
        self.injected.clear()
        return self.config

    def _draw(self, method: str, path: str) -> float:
        key = (method, path.lower())
        self._counters[key] += 1
        digest = hashlib.sha256(f"{self.config['seed']}|{method}|{key[1]}|{self._counters[key]}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    def decide(self, kind: str, method: str, path: str) -> str | None:
        """None, '429', '500', '503' or 'drop' for this request."""
        if kind not in self.config["targets"]:
            return None
        x = self._draw(method, path)
        for name, rate in (("429", "rate_429"), ("503", "rate_503"), ("500", "rate_500"), ("drop", "rate_drop")):
            x -= float(self.config[rate])
            if x < 0:
                self.injected[name] += 1
                return name
        return None

    @property
    def latency(self) -> float:
        return float(self.config["latency_ms"]) / 1000.0
