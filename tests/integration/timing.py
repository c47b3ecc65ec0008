"""Coordinator timings for tests: fast by default, changeable per test (``timings`` fixture)."""

from __future__ import annotations

from collections.abc import Callable

from custom_components.han_port.const import Timings

#: Back-off and silence in tens of milliseconds (2-core CI). Silence comes after
#: silence_intervals x the profile's interval: 0.05 x 10 s = 0.5 s for "auto".
FAST = Timings(backoff_start=0.02, backoff_max=0.08, silence_intervals=0.05)

#: The ``timings`` fixture: ``timings(silence_intervals=1000)`` changes a coordinator timing.
type SetTimings = Callable[..., Timings]
