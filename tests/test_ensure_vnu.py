"""`make test` gets its HTML checker by itself (scripts/ensure-vnu), decided on a fake machine: a PATH
of stub commands (id, sudo, apt-get, java, npm) that log their calls; this machine is not touched."""

import re
import subprocess
from pathlib import Path

import pytest

from tests.plugins.fake_machine import FakeMachine

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ensure-vnu"
VERSION = re.search(r"^VERSION=(\S+)$", SCRIPT.read_text(), re.M).group(1)
JAR = "node_modules/vnu-jar/build/dist/vnu.jar"


class VnuMachine(FakeMachine):
    REAL_TOOLS = ("dirname", "grep", "mkdir", "chmod")

    def __init__(self, root: Path):
        super().__init__(root)
        self.vnu = root / "vnu"  # the project-local folder (VNU_DIR)

    def installed(self, version: str) -> None:
        """As npm leaves it: the package's package.json and its jar."""
        package = self.vnu / "node_modules" / "vnu-jar"
        (package / "build" / "dist").mkdir(parents=True, exist_ok=True)
        (package / "package.json").write_text(
            f'{{\n  "name": "vnu-jar",\n  "version": "{version}"\n}}'
        )
        (self.vnu / JAR).write_text("jar")

    def npm_that_installs(self, version: str = VERSION) -> None:
        package = self.vnu / "node_modules" / "vnu-jar"
        self.command(
            "npm",
            f'mkdir -p "{package}/build/dist" && echo jar > "{self.vnu / JAR}" && '
            f'printf \'{{"version": "{version}"}}\' > "{package}/package.json"',
        )

    def apt_get_that_installs_java(self) -> None:
        java = self.bin / "java"
        self.command(
            "apt-get",
            f'if [ "$1" = install ]; then printf "#!/bin/sh\\n" > "{java}"; chmod +x "{java}"; fi',
        )

    def run(self) -> subprocess.CompletedProcess:
        return self.run_script(SCRIPT, env={"VNU_DIR": str(self.vnu)})


@pytest.fixture
def machine(tmp_path):
    m = VnuMachine(tmp_path)
    m.command("id", "echo 1000")  # a normal user unless a test says otherwise
    m.command("java")
    return m


def test_an_installed_checker_of_the_pinned_version_is_used_as_it_is(machine):
    machine.installed(VERSION)
    machine.npm_that_installs()
    result = machine.run()
    assert result.returncode == 0
    assert result.stdout == f"{machine.vnu / JAR}\n"
    assert machine.calls() == []


def test_a_missing_checker_is_installed_from_the_npm_registry_at_the_pinned_version(machine):
    machine.npm_that_installs()
    result = machine.run()
    assert result.returncode == 0
    assert result.stdout == f"{machine.vnu / JAR}\n"  # only the path: make and tests read it
    (call,) = machine.calls()
    assert call.startswith(f"npm install --prefix {machine.vnu} ")
    assert call.endswith(f" vnu-jar@{VERSION}")


def test_another_version_is_replaced_by_the_pinned_one(machine):
    machine.installed("20.6.30")
    machine.npm_that_installs()
    result = machine.run()
    assert result.returncode == 0
    assert [call.split()[-1] for call in machine.calls()] == [f"vnu-jar@{VERSION}"]


def test_as_root_without_java_a_headless_jre_is_installed_with_apt_get(machine):
    (machine.bin / "java").unlink()
    machine.command("id", "echo 0")
    machine.apt_get_that_installs_java()
    machine.installed(VERSION)
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y -q default-jre-headless" in machine.calls()
    assert result.stdout == f"{machine.vnu / JAR}\n"


def test_with_passwordless_sudo_apt_get_runs_through_sudo(machine):
    (machine.bin / "java").unlink()
    machine.command("sudo", '[ "$1" = -n ] && shift; "$@"')
    machine.apt_get_that_installs_java()
    machine.installed(VERSION)
    result = machine.run()
    assert result.returncode == 0, result.stderr
    assert "sudo -n apt-get install -y -q default-jre-headless" in machine.calls()


def test_without_java_or_a_way_to_install_it_one_sentence_says_what_to_install(machine):
    (machine.bin / "java").unlink()
    machine.command("sudo", "exit 1")  # sudo -n fails when a password is needed
    machine.apt_get_that_installs_java()
    machine.npm_that_installs()
    result = machine.run()
    assert result.returncode == 1
    (sentence,) = result.stderr.splitlines()
    assert sentence.startswith("The HTML checker needs Java")
    assert "default-jre-headless" in sentence and sentence.endswith("then run make test again.")
    assert machine.calls() == []  # neither apt-get nor npm


def test_without_npm_one_sentence_says_what_to_install(machine):
    result = machine.run()
    assert result.returncode == 1
    (sentence,) = result.stderr.splitlines()
    assert sentence.startswith(f"The HTML checker needs vnu-jar {VERSION} from the npm registry")
    assert sentence.endswith("then run make test again.")


def test_when_npm_cannot_install_it_an_older_version_is_not_used(machine):
    machine.installed("20.6.30")
    machine.command("npm", "echo 'npm error network' >&2; exit 1")  # registry unreachable
    result = machine.run()
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.splitlines()[-1].startswith(f"The HTML checker needs vnu-jar {VERSION}")


def test_make_test_runs_it_before_pytest():
    makefile = (SCRIPT.parent.parent / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest:") :]
    recipe = recipe[: recipe.index("\n\n")]
    assert recipe.index("scripts/ensure-vnu") < recipe.index("-m pytest")


def test_the_html_validity_test_looks_where_the_script_installs():
    from tests.test_html_validity import DEFAULT_JAR

    assert SCRIPT.parent.parent / ".cache" / "vnu" / JAR == DEFAULT_JAR
    assert 'DIR="${VNU_DIR:-.cache/vnu}"' in SCRIPT.read_text()
