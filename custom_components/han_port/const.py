"""Constants for the HAN Port integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "han_port"
LOGGER = logging.getLogger(__package__)

CONF_PROFILE: Final = "profile"
CONF_EK: Final = "encryption_key"
CONF_AK: Final = "authentication_key"
CONF_SYSTEM_TITLE: Final = "system_title"
