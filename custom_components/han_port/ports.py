"""A port as it may be shown or logged: the secrets a serialx URL can carry, redacted.

A port is a device path or a serialx URL, and a URL can carry secrets in its query:
``esphome://host/?port_name=HAN&key=...`` (the API encryption key; ``noise_psk`` is its
alias) or ``password=...``. ``serialx.redact_uri`` replaces their values with ``REDACTED``
and leaves every other URL, and every device path, exactly as typed (serialx
``common.py``: ``SECRET_URI_PARAMS``). Titles, unique ids, form texts, placeholders and log
lines use ``port_label``; only the entry's data keeps the real URL, which opening the port
needs.

A form that shows a port shows its label; ``unredact_port`` puts the secrets back when the
label comes back unchanged in those places, so that a user who changes only the host does
not have to type the key again.
"""

from __future__ import annotations

from urllib.parse import unquote_plus

import serialx

#: What ``serialx.redact_uri`` puts in place of a secret.
REDACTED = "REDACTED"


def port_label(port: str) -> str:
    """``port`` with the value of every secret URL parameter replaced by ``REDACTED``."""
    return str(serialx.redact_uri(port))


def _query_pairs(port: str) -> list[str]:
    """The ``name=value`` pairs of a URL's query, as typed (as ``serialx.redact_uri`` splits)."""
    rest = port.partition("#")[0]
    query = rest.partition("?")[2]
    return query.split("&") if query else []


def _secrets(port: str) -> dict[str, str]:
    """Secret parameter name (as typed) -> its pair in ``port``: the pairs the label changes."""
    return {
        pair.partition("=")[0]: pair
        for pair, shown in zip(_query_pairs(port), _query_pairs(port_label(port)), strict=True)
        if pair != shown
    }


def unredact_port(port: str, previous: str | None) -> str:
    """The port a form sent back, with each ``name=REDACTED`` taken from ``previous``.

    Only secret parameters that ``previous`` has are restored; anything typed is kept.
    """
    if not previous or f"={REDACTED}" not in port:
        return port
    secrets = _secrets(previous)
    if not secrets:
        return port
    rest, hash_sign, fragment = port.partition("#")
    base, _, query = rest.partition("?")
    pairs = []
    for pair in query.split("&"):
        name, _, value = pair.partition("=")
        pairs.append(secrets.get(name, pair) if value == REDACTED else pair)
    return f"{base}?{'&'.join(pairs)}{hash_sign}{fragment}"


def redact_text(text: str, port: str) -> str:
    """``text`` (a traceback, an error message) with ``port``'s secrets replaced.

    The whole URL becomes its label, then any secret value still there (an exception may
    quote one alone, as typed or URL-decoded) becomes ``REDACTED``.
    """
    label = port_label(port)
    if label == port:
        return text
    text = text.replace(port, label)
    for pair in _secrets(port).values():
        value = pair.partition("=")[2]
        for form in {value, unquote_plus(value)}:
            if form:
                text = text.replace(form, REDACTED)
    return text
