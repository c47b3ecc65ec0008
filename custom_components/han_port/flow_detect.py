"""The config flow's state and its detection step: listen behind a spinner that always ends.

``DetectingFlow`` holds what every step shares (the entry data being built, what detection
found, the failure a form shows, the translated profile texts) and runs detection with Home
Assistant's progress pattern (``async_show_progress`` with the detection task, then
``async_show_progress_done``), telling the dialog again that detection ended until it has
fetched the result: the frontend subscribes to progress events only once it shows the
spinner, so a detection that ends within milliseconds would otherwise leave it spinning.
"""

from __future__ import annotations

import asyncio
import traceback
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_PORT
from homeassistant.core import callback
from homeassistant.data_entry_flow import EVENT_DATA_ENTRY_FLOW_PROGRESSED, FlowResultType

from .connection import MeterConfig
from .const import CONF_PROFILE, DEFAULT_PROFILE, DOMAIN, LOGGER
from .detect import Detection, Outcome, async_detect, listen_window
from .flow_forms import KEY_FIELDS
from .han.profiles import Profile, get_profile
from .ports import port_label, redact_text
from .texts import Texts, async_get_texts

if TYPE_CHECKING:
    from .coordinator import HanPortConfigEntry

#: Seconds after a detection ends at which the dialog is told again to fetch the result, for
#: as long as it has not: the frontend subscribes to progress events only after it has shown
#: the spinner, so a detection that ends within milliseconds (a refused port, a key error)
#: fires its one event before anyone listens, and the spinner would never end.
#: (home-assistant/frontend src/dialogs/config-flow/dialog-data-entry-flow.ts: willUpdate
#: subscribes once the progress step is rendered and never fetches after subscribing.)
RENOTIFY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0)

#: Outcomes -> the info line logged once per detection (``%s``: the port's label).
_OUTCOME_LOG = {
    Outcome.CANNOT_CONNECT: "Detection on %s: the port cannot be opened or the far end refused",
    Outcome.NOTHING: "Detection on %s: nothing received in %.0f s at %s",
    Outcome.UNREADABLE: "Detection on %s: data arrives but is unreadable at %s",
    Outcome.NEED_KEY: "Detection on %s: the meter encrypts its data; keys are needed",
    Outcome.AUTH_FAILED: "Detection on %s: the frames do not authenticate with these keys",
    Outcome.WRONG_KEY: "Detection on %s: the data decrypts to nonsense (wrong key)",
    Outcome.PICK_METER: "Detection on %s: the configured meter was not heard",
}


def _log_detection(port: str, detection: Detection) -> None:
    """One info line per detection: what was found or what went wrong (never keys).

    ``port`` is the port's label: a URL's secrets stay out of the log.
    """
    outcome = detection.outcome
    tried = ", ".join(detection.tried)
    if outcome is Outcome.FOUND:
        message = detection.message
        assert message is not None
        swapped = " (keys were entered swapped)" if "keys_swapped" in message.notes else ""
        LOGGER.info("Detection on %s: %s meter found%s", port, message.format, swapped)
    elif outcome is Outcome.NOTHING:
        LOGGER.info(_OUTCOME_LOG[outcome], port, detection.listened, tried)
    elif outcome is Outcome.UNREADABLE:
        LOGGER.info(_OUTCOME_LOG[outcome], port, tried)
    else:
        LOGGER.info(_OUTCOME_LOG[outcome], port)


class DetectingFlow(ConfigFlow):
    """What every step of the flow shares, and the step that listens (no domain: not registered)."""

    def __init__(self) -> None:
        """Nothing heard yet."""
        self._data: dict[str, Any] = {}
        self._entry: HanPortConfigEntry | None = None
        self._detect_task: asyncio.Task[Detection] | None = None
        self._renotify_task: asyncio.Task[None] | None = None
        self._detection: Detection | None = None
        self._failure: tuple[str, dict[str, str]] | None = None
        #: Detection said a key is missing or wrong: the key forms require the EK.
        self._need_key = False
        #: The user typed keys in this flow: key forms show them again after an error.
        self._keys_typed = False
        self._texts = Texts({})

    @property
    def _profile(self) -> Profile:
        return get_profile(self._data.get(CONF_PROFILE, DEFAULT_PROFILE))

    async def _async_load_texts(self) -> None:
        """Read the profile texts in Home Assistant's language (each first step does)."""
        self._texts = await async_get_texts(self.hass)

    def _errors(self, step_id: str, errors: dict[str, str] | None) -> dict[str, str] | None:
        """``errors``, or the detection failure this form was last shown with.

        The dialog may fetch a form again (a progress event it received late, a reopened
        flow); it then shows the same error instead of a blank form.
        """
        if errors or self._failure is None or self._failure[0] != step_id:
            return errors
        return self._failure[1]

    def _typed_keys(self) -> dict[str, Any]:
        """The keys typed in this flow, to show again after a key error (hex)."""
        if not self._keys_typed:
            return {}
        return {field: self._data[field] for field in KEY_FIELDS if self._data.get(field)}

    def _placeholders(self) -> dict[str, str]:
        """Every placeholder any of this flow's texts uses."""
        profile = self._profile
        texts = self._texts
        detection = self._detection
        config = MeterConfig.from_data(self._data) if CONF_PORT in self._data else None
        window = listen_window(profile.interval)
        tries = len(config.candidate_settings()) if config else 1
        return {
            "port": port_label(self._data.get(CONF_PORT, "")),
            "profile": texts.profile_name(profile),
            "activation": texts.activation(profile),
            "ek_name": texts.key_name(profile, "ek"),
            "ak_name": texts.key_name(profile, "ak"),
            "seconds": str(round(window * tries)),
            "listened": str(round(detection.listened)) if detection else "0",
            "tried": ", ".join(detection.tried) if detection else "",
            "heard": ", ".join(detection.heard) if detection else "",
        }

    async def async_step_detect(
        self,
        user_input: dict[str, Any] | None = None,  # noqa: ARG002 - a progress step
    ) -> ConfigFlowResult:
        """Listen to the port (bounded time) with a progress spinner.

        Home Assistant's progress pattern: the spinner is tied to the task, and when the
        task is done this step is run again and hands over to ``result``. Because the dialog
        may have missed that hand-over (see ``RENOTIFY_DELAYS``), it is repeated until the
        dialog has fetched the result.
        """
        if self._detect_task is None:
            self._failure = None
            self._detect_task = self.hass.async_create_task(self._async_detect())
        if not self._detect_task.done():
            return self.async_show_progress(
                step_id="detect",
                progress_action="detect",
                progress_task=self._detect_task,
                description_placeholders=self._placeholders(),
            )
        task, self._detect_task = self._detect_task, None
        port = str(self._data.get(CONF_PORT))
        try:
            self._detection = task.result()
        except Exception as err:  # noqa: BLE001 - a decoder bug must not leave the flow hanging
            # The traceback as text, with the URL's secrets out (the message may quote it).
            trace = "".join(traceback.format_exception(err))
            LOGGER.error("Detection on %s failed:\n%s", port_label(port), redact_text(trace, port))
            self._detection = Detection(Outcome.UNREADABLE)
        _log_detection(port_label(port), self._detection)
        if self.cur_step is not None and self.cur_step["type"] is FlowResultType.SHOW_PROGRESS:
            self._start_renotify()
        return self.async_show_progress_done(next_step_id="result")

    def _start_renotify(self) -> None:
        if self._renotify_task is not None:
            self._renotify_task.cancel()
        self._renotify_task = self.hass.async_create_background_task(
            self._async_renotify(), f"{DOMAIN} config flow {self.flow_id} progress"
        )

    async def _async_renotify(self) -> None:
        """Tell the dialog again that detection ended, until it has fetched the result."""
        for delay in RENOTIFY_DELAYS:
            await asyncio.sleep(delay)
            step = self.cur_step
            if step is None or step["type"] is not FlowResultType.SHOW_PROGRESS_DONE:
                return
            self.hass.bus.async_fire(
                EVENT_DATA_ENTRY_FLOW_PROGRESSED,
                {"handler": DOMAIN, "flow_id": self.flow_id, "refresh": True},
            )

    async def _async_detect(self) -> Detection:
        config = MeterConfig.from_data(self._data)
        entry = self._entry
        if entry is not None and entry.state is ConfigEntryState.LOADED:
            async with entry.runtime_data.async_port_released():
                return await async_detect(config)
        return await async_detect(config)

    @callback
    def async_remove(self) -> None:
        """Stop listening (and telling the dialog) when the dialog is closed."""
        for task in (self._detect_task, self._renotify_task):
            if task is not None and not task.done():
                task.cancel()
