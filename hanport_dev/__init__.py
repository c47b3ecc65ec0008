"""HAN Port's development tools: the simulated meters, the command line and benchmark helpers.

None of this ships: HACS copies only ``custom_components/han_port/``. The protocol library is
imported as the top-level package ``han`` (``custom_components/han_port`` on the Python path, as
``scripts/han``, ``scripts/develop`` and pytest's ``pythonpath`` set it up), so nothing here
imports Home Assistant.
"""
