"""Start the web app (Reflex, production, one port), reusing the front-end build while its inputs stay put.

Why: `reflex run --env prod` compiles the app and rebuilds the front end (bun + Vite) on every start,
20-40 s and more on these machines, and the same again when the supervisor restarts a crashed web
process, while browsers and the health check wait. The build is a function of the sources that feed it,
so a start whose fingerprint of them matches the one stored beside the build serves that build as it
is. What goes in (`fingerprint`): every Python file of `pipelet_app` (pages and components, but also the
state classes and anything they import: we do not try to tell which ones shape the pages), `assets/`,
`rxconfig.py`, the versions of the installed `reflex*` distributions and of Python, the Reflex config as
resolved (ports and URLs are baked into the pages; the database and Redis URLs are left out: the server
alone reads them) and the `REFLEX_*` / `VITE_*` / `NODE_*` environment. A miss costs one build; a false
hit would serve stale pages, hence the wide net.

A supervised restart (`--reuse-build`, `cli/run.py`) never rebuilds while a complete build is there: it
follows a crash, not a deploy, and must be back in seconds. Sources changed since the start are picked up
by the next `pipelet run` (the log says so when it notices).

How: Reflex's own `reflex run` command runs in this process; on a warm start its two build steps
(`reflex.reflex._compile_app`, `reflex.utils.build.setup_frontend_prod`) are skipped, on a cold start the
second is wrapped to store the fingerprint once it succeeded. Reflex deletes the build directory before
building, so a failed or interrupted build leaves no fingerprint and the next start builds again.
Everything else (ports, production mode, Granian workers, the front end mounted on the one port) is
Reflex's. Should a Reflex upgrade rename those steps, the start logs it and builds every time, as before.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import platform
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

log = logging.getLogger("pipelet.web_start")

ROOT = Path(__file__).resolve().parents[2]  # the checkout this module is in
STAMP = "pipelet-fingerprint"  # inside `.web/build/`, next to (not inside) the served `client/`
SOURCES = ("pipelet_app", "assets", "rxconfig.py")
SKIPPED_DIRS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"}
SERVER_ONLY_CONFIG = {"db_url", "async_db_url", "redis_url"}
ENV_PREFIXES = ("REFLEX_", "VITE_", "NODE_")
RUN_STATE_ENV = {"REFLEX_WEB_WORKDIR"}  # where the build goes, not what it contains


def _source_files(root: Path) -> Iterable[Path]:
    for name in SOURCES:
        top = root / name
        if top.is_file():
            yield top
        elif top.is_dir():
            for path in sorted(top.rglob("*")):
                if not path.is_file() or SKIPPED_DIRS.intersection(path.relative_to(root).parts):
                    continue
                if name == "pipelet_app" and path.suffix != ".py":
                    continue
                yield path


def reflex_versions() -> dict[str, str]:
    """Installed `reflex*` distributions (the framework, its component packages) and their versions."""
    found = {}
    for dist in metadata.distributions():
        name = (dist.metadata.get("Name") or "").lower()
        if name.startswith("reflex"):
            found[name] = dist.version
    return found


def fingerprint(root: Path, settings: Mapping[str, str]) -> str:
    """A digest of what the front-end build is made from: the sources under `root` and `settings`
    (config values, environment and versions, as `build_settings` gives them)."""
    digest = hashlib.sha256()
    for path in _source_files(root):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    for key in sorted(settings):
        digest.update(f"{key}={settings[key]}\0".encode())
    return digest.hexdigest()


def build_settings(config: Any, environ: Mapping[str, str]) -> dict[str, str]:
    """The non-file inputs of the build: the resolved Reflex config (less server-only URLs), the
    `REFLEX_*`/`VITE_*`/`NODE_*` environment, and the versions of Python and Reflex."""
    settings = {
        f"config.{field.name}": repr(getattr(config, field.name, None))
        for field in dataclasses.fields(config)
        if not field.name.startswith("_") and field.name not in SERVER_ONLY_CONFIG
    }
    settings.update(
        {f"env.{k}": v for k, v in environ.items() if k.startswith(ENV_PREFIXES) and k not in RUN_STATE_ENV}
    )
    settings.update({f"dist.{k}": v for k, v in reflex_versions().items()})
    settings["python"] = platform.python_version()
    return settings


def stored(web_dir: Path) -> str | None:
    """The fingerprint of the complete build in `web_dir`, or None when there is none."""
    stamp = web_dir / "build" / STAMP
    if not (web_dir / "build" / "client").is_dir() or not stamp.is_file():
        return None
    return stamp.read_text().strip() or None


def store(web_dir: Path, value: str) -> None:
    (web_dir / "build" / STAMP).write_text(value + "\n")


def needs_build(web_dir: Path, current: str, *, reuse: bool) -> bool:
    """Build unless the stored build matches `current`; with `reuse` (a supervised restart), unless
    any complete build is there."""
    previous = stored(web_dir)
    if previous is None:
        return True
    if previous != current:
        if reuse:
            log.warning(
                "front end: sources changed since it was built; a restart serves the existing build "
                "(restart `pipelet run` to rebuild)"
            )
            return False
        return True
    return False


def _patch_build_steps(build: bool, on_built: Callable[[], None]) -> bool:
    """Skip Reflex's compile and build steps (`build` False) or record the fingerprint after the build
    (`build` True). False when Reflex no longer has them (then it builds as it always did)."""
    import reflex.reflex as reflex_cli
    from reflex.utils import build as reflex_build

    if not (hasattr(reflex_cli, "_compile_app") and hasattr(reflex_build, "setup_frontend_prod")):
        log.error("front end: Reflex's build steps were not found; building on every start")
        return False
    original = reflex_build.setup_frontend_prod
    if build:

        def setup_and_record(root: Path) -> None:
            original(root)
            on_built()

        reflex_build.setup_frontend_prod = setup_and_record
    else:
        reflex_cli._compile_app = lambda **_: None
        reflex_build.setup_frontend_prod = lambda _root: None
    return True


def main(argv: Sequence[str] | None = None) -> None:
    """`python -m pipelet_app.runtime.web_start [--reuse-build] <reflex run arguments>`."""
    args = list(sys.argv[1:] if argv is None else argv)
    reuse = "--reuse-build" in args
    reflex_args = [a for a in args if a != "--reuse-build"]
    root = Path.cwd()  # the project directory, as Reflex requires (rxconfig.py); `cli/run.py` sets it
    sys.path.insert(0, str(root))
    from pipelet_app import logs

    logs.configure("INFO", replace=False)

    from reflex_base.config import get_config
    from reflex_base.utils import log as reflex_log

    if reflex_log.is_json_mode() and not reflex_log.is_output_supervised():
        # Reflex's JSON log mode re-runs the command under a filter: re-run this launcher, not `reflex`.
        raise SystemExit(reflex_log.supervise_output([sys.executable, "-m", __spec__.name, *args]))

    from reflex.reflex import cli
    from reflex.utils import prerequisites

    web_dir = prerequisites.get_web_dir()
    current = fingerprint(root, build_settings(get_config(), os.environ))
    build = needs_build(web_dir, current, reuse=reuse)
    if _patch_build_steps(build, lambda: store(web_dir, current)):
        log.info(
            "front end: %s", "building (sources changed or no build yet)" if build else "reusing the build"
        )
    sys.argv = ["reflex", "run", *reflex_args]
    cli.main(args=["run", *reflex_args], prog_name="reflex")


if __name__ == "__main__":
    main()
