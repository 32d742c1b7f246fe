"""Which package may depend on which: the layering docs/architecture.md describes, checked."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pixxel_dashboard

ROOT = Path(pixxel_dashboard.__file__).parent


def our_imports(package: str, skip: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """For each module of `package`, the other packages of ours it imports (absolute imports)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if any(relative.startswith(f"{package}/{prefix}") for prefix in skip):
            continue
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
            elif isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
        packages = {
            name.split(".")[1]
            for name in names
            if name.startswith("pixxel_dashboard.") and name.split(".")[1] != package
        }
        if packages:
            found[relative] = packages
    return found


def test_core_is_the_ground_floor_and_imports_no_other_app():
    # seed_demo composes the apps on purpose (a command, never imported by them).
    assert our_imports("core", skip=("management/",)) == {}


def test_the_sandbox_depends_on_nothing_of_ours_but_core():
    assert {
        module: packages
        for module, packages in our_imports("sandbox").items()
        if packages != {"core"}
    } == {}


# Installed from requirements-dev.txt only: production must run without them.
DEV_ONLY = ("jsonschema", "hypothesis", "pytest", "pytest_django", "playwright", "tests")

IMPORT_THE_PRODUCT = """
import importlib, json, pkgutil, sys
import django
django.setup()
import pixxel_dashboard, pixxel_dashboard.wsgi
from django.urls import get_resolver
get_resolver().url_patterns
for top in pkgutil.iter_modules(pixxel_dashboard.__path__, "pixxel_dashboard."):
    if top.name == "pixxel_dashboard.sandbox":
        continue
    module = importlib.import_module(top.name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), top.name + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""


def test_the_product_imports_neither_the_sandbox_nor_development_packages():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pixxel_dashboard.settings",  # the product's, not the tests'
        "DEBUG": "true",  # production settings refuse to start without real secrets
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_THE_PRODUCT],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT.parent,
        check=True,
        timeout=120,
    )
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))

    assert "pixxel_dashboard.jobs.views_submit" in modules  # it did import the product
    assert {m.split(".")[0] for m in modules} & set(DEV_ONLY) == set()
    # The sandbox is an installed app for its `pixxel_sandbox` command: Django loads its app
    # config, nothing else of it.
    sandbox = {m for m in modules if m.startswith("pixxel_dashboard.sandbox")}
    assert sandbox <= {"pixxel_dashboard.sandbox", "pixxel_dashboard.sandbox.apps"}
