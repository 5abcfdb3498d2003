"""Fixtures of the portal test: the generated Backstage template, the form page bundled
with esbuild, and the driver that fills it in Debian's Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]


def env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run tests/run.sh", pytrace=False)
    return Path(value)


@pytest.fixture(scope="session")
def npm() -> Path:
    """node_modules with @rjsf/core, @rjsf/validator-ajv8, react, esbuild, nunjucks and
    playwright-core (tests/run.sh: .peers/npm-portal)."""
    return env_path("IMAGECDN_PORTAL_NPM")


@pytest.fixture(scope="session")
def function_bin() -> Path:
    return env_path("IMAGECDN_FUNCTION_BIN")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    out = Path(os.environ.get("IMAGECDN_ARTIFACTS", REPO_ROOT / "target" / "test-artifacts")) / "portal"
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.fixture(scope="session")
def page_dir(npm, tmp_path_factory) -> Path:
    """index.html and bundle.js: the template step rendered by rjsf, as Backstage does."""
    out = tmp_path_factory.mktemp("portal-page")
    shutil.copy(HERE / "index.html", out / "index.html")
    subprocess.run(
        [str(npm / ".bin" / "esbuild"), str(HERE / "form.jsx"), "--bundle", "--minify",
         "--define:process.env.NODE_ENV=\"production\"", f"--outfile={out / 'bundle.js'}"],
        check=True, env={**os.environ, "NODE_PATH": str(npm)}, cwd=npm.parent, timeout=120,
    )
    return out


def template(api: str) -> dict:
    return yaml.safe_load((REPO_ROOT / "package" / "backstage" / f"imagecdn-{api}.yaml").read_text())


def skeleton(api: str) -> str:
    return (REPO_ROOT / "package" / "backstage" / "skeleton" / api / "${{ values.name }}.yaml").read_text()


@pytest.fixture(scope="session")
def drive(npm, page_dir, artifacts, tmp_path_factory):
    """Runs cases through the form of one API's template; returns the driver's results
    by case name."""

    def run(api: str, cases: list[dict]) -> dict[str, dict]:
        work = tmp_path_factory.mktemp(f"portal-{api}")
        spec = {"step": template(api)["spec"]["parameters"][0], "skeleton": skeleton(api), "cases": cases}
        (work / "cases.json").write_text(json.dumps(spec))
        out = subprocess.run(
            ["node", str(HERE / "drive.js"), str(page_dir), str(work / "cases.json"), str(artifacts)],
            capture_output=True, text=True, timeout=600,
            env={**os.environ, "NODE_PATH": str(npm)},
        )
        assert out.returncode == 0, out.stderr
        return {r["name"]: r for r in json.loads(out.stdout)}

    return run
