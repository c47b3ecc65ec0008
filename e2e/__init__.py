"""The browser test (Home Assistant, simulated meters, Debian Chromium via Playwright)."""
