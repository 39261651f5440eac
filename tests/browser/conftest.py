"""Browser tests of the console: Debian's headless Chromium driven by Playwright (nothing
downloaded; `make browser`, which `make test` runs, installs chromium and a CJK font when absent)
against the product as `make run` starts it (tests/acceptance's launcher: stepped clock, shipped
config, demo company). Screenshots of each page go to results/browser/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.conftest import Company, launch_company, stop_company

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "results" / "browser"
PC = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
WECOM_MOBILE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                "Mobile/15E148 wxwork/4.1.30 MicroMessenger/7.0.1 Language/zh")


@pytest.fixture(scope="module")
def company() -> Iterator[Company]:
    """The product, started once per module on Monday 2026-03-02 09:00 (Shanghai)."""
    started = launch_company("2026-03-02T09:00:00+08:00")
    try:
        yield started
    finally:
        stop_company(started)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.fail("no chromium on PATH: `make browser` installs Debian's chromium (make test runs it)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def open_page(chromium: Any, company: Company) -> Iterator[Any]:
    """open_page(user_agent=PC, viewport=...) → a fresh browser tab (its own cookies) on the product."""
    contexts: list[Any] = []

    def open_(user_agent: str = PC, viewport: dict[str, int] | None = None) -> Any:
        context = chromium.new_context(base_url=company.base, user_agent=user_agent, locale="zh-CN",
                                       viewport=viewport or {"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        contexts.append(context)
        return context.new_page()

    yield open_
    for context in contexts:
        context.close()


def shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page: Any, userid: str, path: str = "/console") -> None:
    """Open `path`, meet WeCom's login page (the sandbox's), be `userid`, land back on `path`."""
    page.goto(path)
    page.locator(f"a.user[data-userid='{userid}']").click()
    page.wait_for_url(f"**{path}")
