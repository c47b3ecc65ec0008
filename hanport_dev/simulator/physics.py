"""The simulated meter's physics: what a household draws, phase by phase, in SI units."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import random

#: OBIS (C, D, E) as the simulator addresses quantities.
type Cde = tuple[int, int, int]

_NOMINAL_VOLTAGE: Final = 230.0


class MeterModel:
    """Three phases of a household's load, in SI units (W, var, VA, V, A, Wh, varh, Hz).

    Power per phase wanders towards a target that now and then jumps (an appliance switches),
    voltages stay within a few volts of 230 V, energy registers integrate the power and never
    decrease. Each ``advance`` moves the model on by ``step`` seconds of meter time.
    """

    def __init__(
        self,
        rng: random.Random,
        *,
        step: float,
        start: float,
        initial: dict[Cde, float] | None = None,
        tariff: int = 1,
        gas: dict[int, float] | None = None,
    ) -> None:
        """Start from the template's values (``initial``: instantaneous values and registers)."""
        initial = initial or {}
        self._rng = rng
        self.step = step
        self.time = start
        self.tariff = tariff
        total = initial.get((1, 7, 0), 0.0)
        self.power: list[float] = []
        self.voltage: list[float] = []
        self.dead_phase: list[bool] = []
        for phase in (1, 2, 3):
            power = initial.get((20 * phase + 1, 7, 0), total / 3)
            self.power.append(min(max(power, 150.0), 4000.0))
            volts = initial.get((20 * phase + 12, 7, 0))
            # A phase whose voltage the real meter reported as 0 (IT networks measure L2 as
            # the reference) stays at 0 V; everything else is near 230 V.
            self.dead_phase.append(volts == 0.0)
            nominal = volts if volts and 200 < volts < 260 else _NOMINAL_VOLTAGE
            self.voltage.append(nominal)
        self.target = list(self.power)
        self.reactive = [p * 0.12 for p in self.power]
        self.frequency = 50.0
        self.registers: dict[tuple[int, int], float] = {
            (c, e): value for (c, d, e), value in initial.items() if d == 8
        }
        self.gas = dict(gas or {})

    def advance(self) -> None:
        """Move on by one push interval."""
        rng, step = self._rng, self.step
        self.time += step
        pull = 1.0 - math.exp(-step / 20.0)  # power settles on its target in about a minute
        noise = 25.0 * math.sqrt(step)
        for i in range(3):
            if rng.random() < min(1.0, step / 180.0):  # an appliance switches every few minutes
                self.target[i] = rng.uniform(80.0, 2500.0)
            power = self.power[i] + (self.target[i] - self.power[i]) * pull + rng.gauss(0, noise)
            self.power[i] = min(max(power, 20.0), 6000.0)
            self.reactive[i] = max(0.0, self.power[i] * 0.12 + rng.gauss(0, 8.0))
            volts = self.voltage[i]
            volts += (_NOMINAL_VOLTAGE + 1.5 * (i - 1) - volts) * min(1.0, 0.2 * step)
            volts += rng.gauss(0, 0.6)
            self.voltage[i] = min(max(volts, 223.0), 237.0)
        self.frequency = min(
            max(50.0 + (self.frequency - 50.0) * 0.8 + rng.gauss(0, 0.01), 49.9), 50.1
        )
        hours = step / 3600.0
        for (c, e), value in self.registers.items():
            if e in (0, self.tariff):
                self.registers[c, e] = value + self._power(c) * hours
        for channel, value in self.gas.items():
            self.gas[channel] = value + 0.7 / 3600 * step * rng.uniform(0.5, 1.5)

    def _phase(self, phase: int, x: int) -> float | None:
        i = phase - 1
        p, q = self.power[i], self.reactive[i]
        volts = 0.0 if self.dead_phase[i] else self.voltage[i]
        s = math.hypot(p, q)
        values = {
            1: p,  # active import
            2: 0.0,  # active export
            3: q,  # reactive import
            4: 0.0,  # reactive export
            9: s,  # apparent import
            10: 0.0,  # apparent export
            11: s / (volts or _NOMINAL_VOLTAGE),  # current
            12: volts,
            13: p / s if s else 1.0,  # power factor
        }
        return values.get(x)

    def _power(self, c: int) -> float:
        """The power that feeds register C.8.x (W, var or VA)."""
        value = self.instantaneous(c)
        return value if value is not None else 0.0

    def instantaneous(self, c: int) -> float | None:
        """OBIS C.7.0 now (``None`` for a quantity the model does not know)."""
        phase, x = divmod(c, 20)
        if 1 <= phase <= 3 and 1 <= x <= 13:
            return self._phase(phase, x)
        if phase != 0:
            return None
        if x in (1, 2, 3, 4, 9, 10):
            return sum(self._phase(ph, x) or 0.0 for ph in (1, 2, 3))
        if x == 13:
            p = sum(self.power)
            s = math.hypot(p, sum(self.reactive))
            return p / s if s else 1.0
        if x == 14:
            return self.frequency
        return None

    def value(self, cde: Cde) -> float | None:
        """OBIS C.D.E: instantaneous values (D=7) and registers (D=8)."""
        c, d, e = cde
        if d == 7 and e == 0:
            return self.instantaneous(c)
        if d == 8:
            return self.registers.get((c, e))
        return None


def kind(cde: Cde) -> str | None:
    """What a C.D.E the model simulates measures (None for anything else).

    In the words of the library's scaler defaults (``ListContext.default_scaler``): power,
    current, voltage, pf, frequency, energy.
    """
    c, d, e = cde
    phase, x = divmod(c, 20)
    if phase > 3:
        return None
    if d == 8 and x in (1, 2, 3, 4, 9, 10):
        return "energy"
    if d != 7 or e != 0:
        return None
    if phase == 0 and x == 14:
        return "frequency"
    kinds = {11: "current", 12: "voltage", 13: "pf"}
    return "power" if x in (1, 2, 3, 4, 9, 10) else kinds.get(x)
