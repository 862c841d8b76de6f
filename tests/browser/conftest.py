"""Headless Chromium for the HTML report's tests (Debian's chromium + chromium-driver,
driven by selenium).

Without them the tests are skipped with a message naming the packages to install; CI
sets TRAFFICLENS_REQUIRE_BROWSER=1, which turns a missing browser into a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

INSTALL = "apt-get install chromium chromium-driver"


def _missing() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (make venv installs the dev extras)"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return f"Chromium is not installed ({INSTALL})"
    if not shutil.which("chromedriver"):
        return f"ChromeDriver is not installed ({INSTALL})"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session, with a fresh profile and no network use."""
    why = _missing()
    if why:
        if os.environ.get("TRAFFICLENS_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required but {why}")
        pytest.skip(f"browser tests of the HTML report not run: {why}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1500,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(120)
    try:
        yield driver
    finally:
        driver.quit()
