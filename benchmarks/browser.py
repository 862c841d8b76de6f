"""Headless Chromium for the benchmark and screenshot scripts (Debian's chromium and
chromium-driver, driven by selenium), started with no network use and a fresh profile.
The browser tests have their own fixture (tests/browser/conftest.py)."""

from __future__ import annotations

import shutil
from typing import Any

FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync")


def headless_chromium(window: str = "1400,900", *extra: str) -> Any | None:
    """A selenium driver of headless Chromium, or None when it is not installed."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver_path:
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (*FLAGS, f"--window-size={window}", *extra):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver_path), options=options)
