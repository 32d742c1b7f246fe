"""A fake machine for testing the install scripts (scripts/ensure-*): a PATH of stub commands that
log their calls, so a test decides what the machine has and reads what the script did."""

import subprocess
from pathlib import Path


class FakeMachine:
    # Real tools a script may use as they are (the rest of PATH is stubs).
    REAL_TOOLS: tuple[str, ...] = ("chmod",)

    def __init__(self, root: Path):
        self.bin = root / "bin"
        self.bin.mkdir()
        self.log = root / "calls.log"
        self.log.touch()
        for tool in self.REAL_TOOLS:
            (self.bin / tool).symlink_to(f"/bin/{tool}")

    def command(self, name: str, body: str = "exit 0", where: Path | None = None) -> None:
        """A stub `name` (at `where`, else on PATH) that logs its call and runs `body`."""
        path = where or self.bin / name
        path.write_text(f'#!/bin/bash\necho "{name} $*" >> "{self.log}"\n{body}\n')
        path.chmod(0o755)

    def run_script(
        self, script: Path, *args: str, env: dict[str, str]
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["/bin/bash", str(script), *args],
            env={"PATH": str(self.bin), **env},
            capture_output=True,
            text=True,
            timeout=30,
        )

    def calls(self) -> list[str]:
        """What was done, leaving out the questions (who am I, may I sudo)."""
        asked = ("id -u", "sudo -n true")
        return [call for call in self.log.read_text().splitlines() if call not in asked]
