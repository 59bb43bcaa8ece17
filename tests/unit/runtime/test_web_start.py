"""The front-end fingerprint and the build decision of `runtime/web_start.py`, on a copy of the real
sources: an unchanged copy matches, any change to what feeds the build (a page, an asset, rxconfig,
the config as resolved) does not, and a supervised restart reuses whatever complete build is there."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from reflex_base.config import get_config

from pipelet_app.runtime import web_start
from pipelet_app.runtime.web_start import build_settings, fingerprint, needs_build, store, stored

ROOT = web_start.ROOT


@pytest.fixture(scope="module")
def settings() -> dict[str, str]:
    return build_settings(get_config(), os.environ)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    copy = tmp_path / "src"
    shutil.copytree(ROOT / "pipelet_app", copy / "pipelet_app", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "assets", copy / "assets")
    shutil.copy2(ROOT / "rxconfig.py", copy / "rxconfig.py")
    return copy


def test_the_same_sources_give_the_same_fingerprint(sources: Path, settings: dict[str, str]) -> None:
    first = fingerprint(sources, settings)
    assert fingerprint(sources, settings) == first
    assert fingerprint(ROOT, settings) == first  # the copy is the checkout: nothing else counts
    (sources / "pipelet_app" / "portals" / "__pycache__").mkdir(exist_ok=True)
    (sources / "pipelet_app" / "portals" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (sources / "notes.txt").write_text("not an input")
    assert fingerprint(sources, settings) == first


@pytest.mark.parametrize(
    "change",
    ["a page", "a state module", "a new module", "an asset", "rxconfig", "the port", "the reflex version"],
)
def test_a_change_to_an_input_of_the_build_changes_the_fingerprint(
    sources: Path, settings: dict[str, str], change: str
) -> None:
    before = fingerprint(sources, settings)
    settings = dict(settings)
    if change == "a page":
        page = next((sources / "pipelet_app" / "portals").rglob("*.py"))
        page.write_text(page.read_text() + "\n# edited\n")
    elif change == "a state module":
        state = next(p for p in (sources / "pipelet_app").rglob("*.py") if "state" in p.name)
        state.write_text(state.read_text().replace("\n", "\n\n", 1))
    elif change == "a new module":
        (sources / "pipelet_app" / "portals" / "extra_page.py").write_text("X = 1\n")
    elif change == "an asset":
        (sources / "assets" / "pipelet.css").write_text("body { color: red; }\n")
    elif change == "rxconfig":
        (sources / "rxconfig.py").write_text((sources / "rxconfig.py").read_text() + "\n")
    elif change == "the port":
        assert "config.frontend_port" in settings
        settings["config.frontend_port"] = "1"
    else:
        assert "dist.reflex" in settings
        settings["dist.reflex"] = "0.0.0"
    assert fingerprint(sources, settings) != before


def test_server_only_settings_are_not_inputs(settings: dict[str, str]) -> None:
    assert not {"config.db_url", "config.redis_url", "env.REFLEX_WEB_WORKDIR"} & settings.keys()


def _built(web_dir: Path) -> Path:
    client = web_dir / "build" / "client"
    client.mkdir(parents=True)
    (client / "index.html").write_text("<html></html>")
    return web_dir


def test_a_start_builds_only_when_the_stored_fingerprint_differs(tmp_path: Path) -> None:
    web_dir = tmp_path / ".web"
    assert needs_build(web_dir, "abc", reuse=False)  # never built
    _built(web_dir)
    assert stored(web_dir) is None and needs_build(web_dir, "abc", reuse=False)  # interrupted build
    store(web_dir, "abc")
    assert stored(web_dir) == "abc"
    assert not needs_build(web_dir, "abc", reuse=False)  # second start, nothing changed: no build
    assert needs_build(web_dir, "abd", reuse=False)  # a source changed: build


def test_a_supervised_restart_never_rebuilds_a_complete_build(tmp_path: Path) -> None:
    web_dir = _built(tmp_path / ".web")
    store(web_dir, "abc")
    assert not needs_build(web_dir, "changed-since", reuse=True)
    shutil.rmtree(web_dir / "build")
    assert needs_build(web_dir, "abc", reuse=True)  # nothing to serve: the restart must build
