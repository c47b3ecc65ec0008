"""HAN Port protocol library: bytes from a meter's HAN port in, typed readings out.

No Home Assistant imports live here; the package is usable on its own (``scripts/han``,
its command line, lives in ``hanport_dev/cli.py``).
"""

from __future__ import annotations
