"""How many requests to keep in flight: enough to use the whole budget at HubSpot's latency.

At ``rate`` requests a second and ``latency`` seconds a request, ``rate * latency`` requests
must be in flight to use the budget (19 at 190 per 10 s and 1 s a request; 38 at 2 s). Fewer
leave budget unused; more only wait in the pacer. The latency is HubSpot's, as measured on
the run's own answers (a moving average), the rate the budget's as HubSpot's headers tighten
it. The number is bounded by the caller's cap (else ``MAX_AUTO``) and by the budget of one
window: the pacer keeps the rate whatever this says, so erring high costs memory, never 429s.
"""

from __future__ import annotations

import math

from ._pacing import RequestBudget

HEADROOM = 1.5  # latency varies: keep half as many again in flight
SPARE = 2  # and a couple more, for our own time between answer and next request
FIRST_GUESS_S = 1.0  # HubSpot's latency for a batch of 100 before we have measured any
SMOOTHING = 0.2  # weight of the newest round trip in the moving average
# "auto" never goes above HubSpot's largest one-window budget (250 per 10 s, with the API limit
# increase). Given a larger budget (a fake, a proxy, a typo), the rate times the 1 s first guess
# would otherwise put the whole input in flight at once: every record read and held in memory,
# and a server that queues them all answers slower, which raises the target again.
MAX_AUTO = 250


class Concurrency:
    """The in-flight target, re-read before each send."""

    def __init__(self, budget: RequestBudget, cap: int | None = None) -> None:
        self.budget = budget
        self.cap = cap  # None: "auto", bounded by the budget of one window alone
        self.latency_s = FIRST_GUESS_S
        self._measured = False

    def observe(self, round_trip_s: float) -> None:
        """One answered attempt's round trip."""
        if not self._measured:
            self.latency_s, self._measured = round_trip_s, True
        else:
            self.latency_s += SMOOTHING * (round_trip_s - self.latency_s)

    @property
    def limit(self) -> int:
        per_second = self.budget.limit / self.budget.interval
        wanted = math.ceil(per_second * self.latency_s * HEADROOM) + SPARE
        bound = min(self.budget.limit, MAX_AUTO if self.cap is None else self.cap)
        return max(1, min(wanted, bound))
