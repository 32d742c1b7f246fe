"""Which package may depend on which: the layering docs/architecture.md describes, checked."""

import ast
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
