"""What the Slack stand-in is told to do wrong: answer 429, answer 5xx, fail with an error code, or answer slowly.

Not locked by itself: the stand-in calls it under its own lock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    remaining: int
    error: str | None = None  # None: answer 429 (or `status`)
    retry_after: int = 1
    status: int = 0  # an HTTP 5xx to answer instead (Slack's own failure), 0 for none


@dataclass
class _Delay:
    seconds: float
    remaining: int | None  # None: every call from now on


class Faults:
    def __init__(self) -> None:
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, _Delay] = {}

    def add_fault(self, method: str, fault: Fault) -> None:
        self._faults.setdefault(method, []).append(fault)

    def set_delay(self, method: str, seconds: float, times: int | None) -> None:
        if seconds <= 0:
            self._delays.pop(method, None)
        else:
            self._delays[method] = _Delay(seconds, times)

    def take_fault(self, method: str) -> Fault | None:
        """The fault the next call of `method` meets, if any; each counts down its calls."""
        queue = self._faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    def take_delay(self, method: str) -> float:
        """How long the next call of `method` waits before it is answered (0 for no wait)."""
        delay = self._delays.get(method)
        if delay is None:
            return 0.0
        if delay.remaining is not None:
            delay.remaining -= 1
            if delay.remaining <= 0:
                del self._delays[method]
        return delay.seconds

    def clear(self) -> None:
        self._faults.clear()
        self._delays.clear()
