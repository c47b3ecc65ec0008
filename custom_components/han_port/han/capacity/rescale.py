"""A stored tracker state carried over a change of the CT scale factor.

Everything a tracker holds is linear in the readings: the register (and its offset), the
closed intervals, the open interval's start value, a suspect reading, the power samples and
the energy estimated from them. A state kept at the old factor is therefore turned into the
one the new factor would have given by multiplying each of them by new/old, exactly (energies
are ints and Fractions). The next reading (at the new factor) then continues from it as from
any stored state: no jump of the register is taken for energy or for a reset. Monthly values
are floored again (a floor does not scale).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import state
from .accounting import exact
from .rules import CapacityRule

if TYPE_CHECKING:
    from fractions import Fraction

__all__ = ["rescaled"]


def rescaled(data: dict[str, Any], factor: Fraction) -> dict[str, Any]:
    """A ``to_dict`` state as if every reading had been ``factor`` times what it was.

    ValueError when ``data`` is no tracker state.
    """
    data = state.mapping(data)

    def times(value: Any) -> int | float | str:
        return state.enc(exact(state.dec(value)) * factor)

    def real(value: Any) -> float:
        return float(state.real(value) * factor)

    try:
        rule = CapacityRule.from_dict(state.mapping(data["rule"]))
        history = []
        for item in state.sequence(data.get("history", [])):
            month, value_w, peak_w, peak_start, source, complete = state.sequence(item, 6)
            peak = real(peak_w)
            # One peak: the value is the floored peak. Several: their mean (rules with several
            # peaks have no floor, so the mean scales exactly).
            value = peak if rule.peaks == 1 else real(value_w)
            history.append([month, max(rule.floor_w, value), peak, peak_start, source, complete])
        new = {**data, "history": history}
        if data.get("month") is not None:
            month_state = state.mapping(data["month"])
            peaks = [
                [times(value), times(energy), start, day, quality]
                for value, energy, start, day, quality in (
                    state.sequence(item, 5) for item in state.sequence(month_state["peaks"])
                )
            ]
            new["month"] = {**month_state, "peaks": peaks}
        if data.get("register") is not None:
            reg = state.mapping(data["register"])
            new["register"] = {
                **reg,
                "e": times(reg["e"]),
                "offset": times(reg["offset"]),
                "e_open": times(reg["e_open"]),
            }
        if data.get("suspect") is not None:
            t, raw = state.sequence(data["suspect"], 2)
            new["suspect"] = [t, times(raw)]
        if data.get("power") is not None:
            power = state.mapping(data["power"])
            cross = power.get("cross")
            new["power"] = {
                **power,
                "p": real(power["p"]),
                "acc": real(power["acc"]),
                "cross": None if cross is None else [cross[0], real(cross[1])],
            }
    except (KeyError, TypeError, IndexError) as err:
        msg = f"not a capacity tracker state: {err!r}"
        raise ValueError(msg) from err
    return new
