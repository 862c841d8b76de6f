"""Screenshots of an HTML collection report for the README (``make screenshot``).

Opens the page in headless Chromium (Debian's chromium + chromium-driver, driven by
selenium), saves the top of the page (summary and matrix), then clicks the matrix's
largest cell, opens the first listed document and saves the evidence view beside it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from browser import headless_chromium


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="the report (trafficlens report --out)")
    parser.add_argument("--out", type=Path, default=Path("docs/img/collection.png"),
                        help="the evidence view; the top of the page goes beside it, "
                             "named *-matrix.png")
    args = parser.parse_args()
    if not args.page.is_file():
        print(f"error: {args.page}: no such report (run make run first)", file=sys.stderr)
        return 1
    driver = headless_chromium("1400,900", "--hide-scrollbars")
    if driver is None:
        print("error: needs chromium and chromedriver (apt-get install chromium "
              "chromium-driver)", file=sys.stderr)
        return 1
    from selenium.webdriver.common.by import By

    try:
        driver.get(args.page.resolve().as_uri())
        args.out.parent.mkdir(parents=True, exist_ok=True)
        matrix = args.out.with_name(args.out.stem + "-matrix.png")
        driver.save_screenshot(str(matrix))
        cells = [c for c in driver.find_elements(By.CSS_SELECTOR, "#matrix button.cell")
                 if c.is_enabled()]
        if cells:
            max(cells, key=lambda c: int(c.text)).click()
            driver.find_element(By.CSS_SELECTOR, "#evidence-list li .doclink").click()
        driver.save_screenshot(str(args.out))
    finally:
        driver.quit()
    print(f"wrote {matrix} and {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
