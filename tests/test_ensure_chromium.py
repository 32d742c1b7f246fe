"""`make test` gets its browser by itself (scripts/ensure-chromium), decided on a fake machine: a PATH
of stub commands (id, sudo, apt-get, playwright) that log their calls; this machine is not touched."""

import subprocess
from pathlib import Path

import pytest

from tests.plugins.fake_machine import FakeMachine

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "ensure-chromium"
SENTENCE = (
    "The browser tests need Chromium: install Debian's package (sudo apt-get install chromium)"
)


class ChromiumMachine(FakeMachine):
    def __init__(self, root: Path):
        super().__init__(root)
        self.chromium = root / "usr-bin-chromium"
        self.playwright = root / "venv-playwright"

    def install_chromium_on_apt_get_install(self) -> None:
        self.command(
            "apt-get",
            f'if [ "$1" = install ]; then printf "#!/bin/sh\\n" > "{self.chromium}"; '
            f'chmod +x "{self.chromium}"; fi',
        )

    def run(self) -> subprocess.CompletedProcess:
        return self.run_script(SCRIPT, str(self.playwright), env={"CHROMIUM": str(self.chromium)})


@pytest.fixture
def machine(tmp_path):
    m = ChromiumMachine(tmp_path)
    m.command("id", "echo 1000")  # a normal user unless a test says otherwise
    m.command("playwright", "exit 0", where=m.playwright)
    return m


def test_an_installed_chromium_is_used_as_it_is(machine):
    machine.command("chromium", "exit 0", where=machine.chromium)
    machine.install_chromium_on_apt_get_install()
    result = machine.run()
    assert result.returncode == 0
    assert machine.calls() == []


def test_as_root_debians_chromium_is_installed_with_apt_get(machine):
    machine.command("id", "echo 0")
    machine.install_chromium_on_apt_get_install()
    result = machine.run()
    assert result.returncode == 0
    assert "apt-get install -y -q chromium" in machine.calls()
    assert not any(call.startswith(("sudo", "playwright")) for call in machine.calls())


def test_with_passwordless_sudo_apt_get_runs_through_sudo(machine):
    machine.command("sudo", '[ "$1" = -n ] && shift; "$@"')
    machine.install_chromium_on_apt_get_install()
    result = machine.run()
    assert result.returncode == 0
    assert "sudo -n apt-get install -y -q chromium" in machine.calls()
    assert not any(call.startswith("playwright") for call in machine.calls())


def test_sudo_that_wants_a_password_is_not_waited_for(machine):
    machine.command("sudo", "exit 1")  # sudo -n fails when a password is needed
    machine.install_chromium_on_apt_get_install()
    result = machine.run()
    assert result.returncode == 0
    assert "playwright install chromium" in machine.calls()
    assert not any(call.startswith("apt-get") for call in machine.calls())


def test_without_root_or_sudo_playwright_downloads_its_own(machine):
    machine.install_chromium_on_apt_get_install()
    result = machine.run()
    assert result.returncode == 0
    assert machine.calls() == ["playwright install chromium"]


def test_when_apt_get_cannot_install_it_playwright_is_tried(machine):
    machine.command("id", "echo 0")
    machine.command("apt-get", '[ "$1" = install ] && exit 100; exit 0')
    result = machine.run()
    assert result.returncode == 0
    assert machine.calls()[-1] == "playwright install chromium"


def test_when_nothing_works_one_sentence_says_what_to_install(machine):
    machine.command("id", "echo 0")
    machine.command("apt-get", '[ "$1" = install ] && exit 100; exit 0')
    machine.command("playwright", "exit 1", where=machine.playwright)  # download host unreachable
    result = machine.run()
    assert result.returncode == 1
    (sentence,) = result.stderr.splitlines()
    assert sentence.startswith(SENTENCE) and sentence.endswith("then run make test again.")


def test_make_test_runs_it_before_pytest():
    makefile = (SCRIPT.parent.parent / "Makefile").read_text()
    recipe = makefile[makefile.index("\ntest:") :]
    recipe = recipe[: recipe.index("\n\n")]
    assert recipe.index("scripts/ensure-chromium") < recipe.index("-m pytest")


def test_pytest_alone_says_the_same_sentence():
    from tests.plugins.browser import NO_BROWSER

    assert NO_BROWSER.startswith(SENTENCE) and NO_BROWSER.endswith("then run make test again.")
