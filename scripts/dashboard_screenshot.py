"""Take README's screenshot of the web dashboard (docs/dashboard.png) in Debian's headless
Chromium: all of ../shared/data in a temporary store, the overview as it was on 2025-10-31 (late-2025
repo pressure; the data published by then) at 1280 px wide (and, with --phone, docs/dashboard-phone.png
at 360 px). Run: python scripts/dashboard_screenshot.py [--phone]"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402

from tests.conftest import SHARED_DATA  # noqa: E402
from tests.test_web_api import seed  # noqa: E402
from tests.test_web_browser import CHROMIUM, DRIVER, FLAGS, Server  # noqa: E402


def shoot(base: str, path: str, width: int, height: int, out: Path) -> None:
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for f in [*FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}", "--hide-scrollbars"]:
        opts.add_argument(f)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        driver.set_window_size(width, height)
        driver.get(base + path)
        time.sleep(2)  # the sparklines draw after load
        driver.save_screenshot(str(out))
    finally:
        driver.quit()
    print(f"wrote {out}")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "shot.db"
        seed(db, SHARED_DATA, alerts=False).close()
        with Server(db, as_of=datetime(2025, 10, 31, 18)) as base:
            shoot(base, "/?lang=en", 1280, 1100, ROOT / "docs" / "dashboard.png")
            if "--phone" in sys.argv:
                shoot(base, "/metric/reserves?lang=en", 360, 780, ROOT / "docs" / "dashboard-phone.png")


if __name__ == "__main__":
    main()
