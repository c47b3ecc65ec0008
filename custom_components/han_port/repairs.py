"""Repair issues of one meter, and the fix flows for those that need the user's decision.

Issue ids end with the entry id, so removing the entry removes them all. Two issues are
fixable:

* a total (energy, gas, water) the meter keeps reporting lower than Home Assistant has (or
  rising faster than any household could): accepting it is the user's call (a replaced
  meter, a changed CT factor); until then the coordinator's guard holds the value the sensor
  shows (``published``);
* the meter's invocation counter went back (a replaced meter, a reset): until the user
  accepts it, every authenticated frame is refused as a possible replay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from homeassistant.components.repairs import ConfirmRepairFlow, RepairsFlow
from homeassistant.config_entries import ConfigEntryState
from homeassistant.helpers import issue_registry as ir

from .const import (
    DOMAIN,
    ISSUE_COUNTER_RESET,
    ISSUE_DECRYPTION,
    ISSUE_NO_DECODE,
    ISSUE_PORT,
    ISSUE_SILENT,
    ISSUE_TOTAL,
)
from .texts import async_get_texts

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant
    from homeassistant.data_entry_flow import FlowResult

    from .han.profiles import Profile

#: ``data["kind"]`` of the counter-reset issue (a total's issue has no kind).
KIND_COUNTER_RESET = "counter_reset"


class MeterIssues:
    """The repair issues of one config entry: raised once, removed when they no longer hold."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        port: str,
        *,
        silent_after: float,
        key_failure_limit: int,
    ) -> None:
        """Issues for ``entry``, whose meter is on ``port`` (already redacted).

        A meter silent for ``silent_after`` seconds, or ``key_failure_limit`` frames in a
        row refused for their keys, raise an issue.
        """
        self._hass = hass
        self._entry = entry
        self._silent_after = silent_after
        self._key_failure_limit = key_failure_limit
        self._key_failures = 0
        self._keys_asked = False
        self._placeholders = {"title": entry.title, "port": port, "activation": ""}
        # Issues raised before a restart or reload are ours to remove when they no longer hold.
        registry = ir.async_get(hass)
        self._open: set[str] = {
            kind
            for kind in (
                ISSUE_SILENT,
                ISSUE_PORT,
                ISSUE_DECRYPTION,
                ISSUE_COUNTER_RESET,
                ISSUE_NO_DECODE,
            )
            if registry.async_get_issue(DOMAIN, self.issue_id(kind)) is not None
        }

    async def async_load(self, profile: Profile) -> None:
        """Read how the profile's HAN port gets switched on, in Home Assistant's language."""
        texts = await async_get_texts(self._hass)
        self._placeholders["activation"] = texts.activation(profile)

    def issue_id(self, kind: str) -> str:
        """The id of an issue of this entry."""
        return f"{kind}_{self._entry.entry_id}"

    def is_open(self, kind: str) -> bool:
        """Whether this coordinator raised the issue and it is still open."""
        return kind in self._open

    def raise_issue(self, kind: str, placeholders: dict[str, str] | None = None) -> None:
        """Raise a meter issue (silent, port unavailable, decryption, counter, no decode) once.

        ``placeholders`` adds to the title, port and activation every issue text may use.
        """
        if kind in self._open:
            return
        self._open.add(kind)
        fixable = kind == ISSUE_COUNTER_RESET
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self.issue_id(kind),
            is_fixable=fixable,
            severity=ir.IssueSeverity.ERROR,
            translation_key=kind,
            translation_placeholders={**self._placeholders, **(placeholders or {})},
            data=(
                {"entry_id": self._entry.entry_id, "kind": KIND_COUNTER_RESET} if fixable else None
            ),
        )

    def clear(self, *kinds: str) -> None:
        """Remove issues that no longer hold."""
        for kind in kinds:
            if kind in self._open:
                self._open.discard(kind)
                ir.async_delete_issue(self._hass, DOMAIN, self.issue_id(kind))

    def check_silent(self, silent_for: float, *, cannot_open: bool) -> None:
        """A meter that worked has sent nothing for long: say whether its port opens."""
        if any(self.is_open(kind) for kind in (ISSUE_SILENT, ISSUE_PORT)):
            return
        if any(self.is_open(k) for k in (ISSUE_COUNTER_RESET, ISSUE_DECRYPTION, ISSUE_NO_DECODE)):
            return  # the meter talks; its frames are refused, and that issue says why
        if silent_for >= self._silent_after:
            self.raise_issue(ISSUE_PORT if cannot_open else ISSUE_SILENT)

    def key_failed(self) -> int:
        """A frame was refused for its keys: the failures in a row when that calls for the user.

        Once the run reaches the limit the decryption issue is raised and the count is
        returned (once until a message decodes again); 0 otherwise.
        """
        self._key_failures += 1
        if self._key_failures < self._key_failure_limit or self._keys_asked:
            return 0
        self._keys_asked = True
        self.raise_issue(ISSUE_DECRYPTION)
        return self._key_failures

    def clear_on_data(self) -> None:
        """A good message arrived: the port works, the meter talks, its data decrypts."""
        self._key_failures = 0
        self._keys_asked = False
        self.clear(ISSUE_SILENT, ISSUE_PORT, ISSUE_DECRYPTION, ISSUE_NO_DECODE)

    # -- totals ---------------------------------------------------------------------
    def total_issue_id(self, obis: str) -> str:
        """The repair issue of a held total (one per register and entry)."""
        return self.issue_id(f"{ISSUE_TOTAL}_{obis}")

    def total_open(self, obis: str) -> bool:
        """Whether a total's issue is in the registry (raised before a restart or reload)."""
        registry = ir.async_get(self._hass)
        return registry.async_get_issue(DOMAIN, self.total_issue_id(obis)) is not None

    def total_held(self, obis: str, name: str, held: str, reported: str) -> None:
        """A total keeps reporting what Home Assistant cannot follow: ask the user."""
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            self.total_issue_id(obis),
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_TOTAL,
            translation_placeholders={
                "title": self._entry.title,
                "sensor": name,
                "held": held,
                "reported": reported,
            },
            data={"entry_id": self._entry.entry_id, "obis": obis},
        )

    def total_follows(self, obis: str) -> None:
        """The total is consistent again (or the user accepted it): drop its issue."""
        ir.async_delete_issue(self._hass, DOMAIN, self.total_issue_id(obis))


def _loaded_coordinator(hass: HomeAssistant, entry_id: str) -> Any:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is not None and entry.state is ConfigEntryState.LOADED:
        return entry.runtime_data
    return None


class AcceptLowerTotalFlow(ConfirmRepairFlow):
    """Confirm, then let the total continue from the meter's value."""

    def __init__(self, entry_id: str, obis: str) -> None:
        """Remember which entry and register the issue is about."""
        self._entry_id = entry_id
        self._obis = obis

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> FlowResult:
        """Accept the lower value when the user confirms."""
        if user_input is not None:
            coordinator = _loaded_coordinator(self.hass, self._entry_id)
            if coordinator is not None:
                coordinator.async_accept_lower(self._obis)
        return await super().async_step_confirm(user_input)


class AcceptCounterResetFlow(ConfirmRepairFlow):
    """Confirm, then accept the meter's lower invocation counter as its new start."""

    def __init__(self, entry_id: str) -> None:
        """Remember which entry the issue is about."""
        self._entry_id = entry_id

    async def async_step_confirm(self, user_input: dict[str, str] | None = None) -> FlowResult:
        """Accept the reset when the user confirms."""
        if user_input is not None:
            coordinator = _loaded_coordinator(self.hass, self._entry_id)
            if coordinator is not None:
                await coordinator.async_accept_counter_reset()
        return await super().async_step_confirm(user_input)


async def async_create_fix_flow(
    hass: HomeAssistant,  # noqa: ARG001
    issue_id: str,  # noqa: ARG001
    data: dict[str, Any] | None,
) -> RepairsFlow:
    """The fix flow for a fixable issue of ours."""
    data = data or {}
    entry_id = str(data.get("entry_id", ""))
    if data.get("kind") == KIND_COUNTER_RESET:
        return AcceptCounterResetFlow(entry_id)
    return AcceptLowerTotalFlow(entry_id, str(data.get("obis", "")))
