"""The fault knobs: set by SANDBOX_* environment variables at start and at run time by
`POST /_sandbox/faults` with `{"latency_ms": int, "jitter_ms": int, "error_rate": float,
"rate_limit_rate": float, "lost_response_rate": float, "down": bool}` (shares from 0 to 1; keys left out
keep their value). They apply to every Partner Center call (token endpoint included), never to /_sandbox/."""

import os
import random
import threading

ENV = {
    "latency_ms": "SANDBOX_LATENCY_MS",
    "jitter_ms": "SANDBOX_JITTER_MS",
    "error_rate": "SANDBOX_ERROR_RATE",
    "rate_limit_rate": "SANDBOX_RATE_LIMIT_RATE",
    "lost_response_rate": "SANDBOX_LOST_RESPONSE_RATE",
    "down": "SANDBOX_DOWN",
}
INTS = ("latency_ms", "jitter_ms")
SHARES = ("error_rate", "rate_limit_rate", "lost_response_rate")


class FaultError(ValueError):
    """A faults body or variable the sandbox refuses (answered 400)."""


def _check(key: str, value):
    if key in INTS:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise FaultError(f"{key} must be a whole number of milliseconds, 0 or more.")
        return value
    if key in SHARES:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise FaultError(f"{key} must be a share from 0 to 1.")
        return float(value)
    if key == "down":
        if not isinstance(value, bool):
            raise FaultError("down must be true or false.")
        return value
    raise FaultError(f"Unknown fault {key!r}; known: {', '.join(ENV)}.")


class Faults:
    def __init__(self, **values):
        self._lock = threading.Lock()
        self._values = {"latency_ms": 0, "jitter_ms": 0, "error_rate": 0.0, "rate_limit_rate": 0.0,
                        "lost_response_rate": 0.0, "down": False}
        self.update(values)

    @classmethod
    def from_env(cls) -> "Faults":
        values = {}
        for key, name in ENV.items():
            raw = os.environ.get(name, "").strip()
            if not raw:
                continue
            try:
                if key in INTS:
                    values[key] = int(raw)
                elif key in SHARES:
                    values[key] = float(raw)
                else:
                    values[key] = {"1": True, "true": True, "yes": True, "on": True,
                                   "0": False, "false": False, "no": False, "off": False}[raw.lower()]
            except (ValueError, KeyError):
                raise FaultError(f"{name}={raw!r} is not a valid {key}.") from None
        return cls(**values)

    def update(self, values: dict) -> dict:
        """Checks every key first, then applies them all: a bad body changes nothing."""
        if not isinstance(values, dict):
            raise FaultError("The faults body must be a JSON object.")
        checked = {key: _check(key, value) for key, value in values.items()}
        with self._lock:
            self._values.update(checked)
            return dict(self._values)

    def snapshot(self) -> dict:
        with self._lock:
            return dict(self._values)

    # What one request meets (each share drawn on its own).
    def delay_seconds(self) -> float:
        now = self.snapshot()
        jitter = random.uniform(-now["jitter_ms"], now["jitter_ms"]) if now["jitter_ms"] else 0
        return max(0.0, now["latency_ms"] + jitter) / 1000

    def hit(self, key: str) -> bool:
        share = self.snapshot()[key]
        return share > 0 and random.random() < share
