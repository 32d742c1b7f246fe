"""`manage.py pixxel_sandbox`: run the Pixxel API simulator in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError

from pixxel_dashboard.sandbox.server import SandboxServer


class Command(BaseCommand):
    help = "Run the local Pixxel API sandbox (a simulator of Pixxel's workflow/job API)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765)
        parser.add_argument(
            "--speed", type=float, default=1.0, help="simulated seconds per real second"
        )
        parser.add_argument(
            "--fault-rate",
            type=float,
            default=0.0,
            help="share (0..1) of GETs given a random fault",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="seed for job ids and random faults (default: a fresh one per start, so job "
            "ids never repeat across restarts of a long-lived demo)",
        )
        parser.add_argument(
            "--state-file",
            default=None,
            help="keep jobs in this file so they survive a restart (default: in memory only)",
        )
        parser.add_argument("--stall-seconds", type=float, default=60.0)
        parser.add_argument("--slow-seconds", type=float, default=1.5)

    def handle(self, *args, **options):
        if not 0 <= options["fault_rate"] <= 1:
            raise CommandError("--fault-rate must be between 0 and 1")
        if options["verbosity"] >= 2:  # request lines (never headers) on stderr
            sandbox_logger = logging.getLogger("pixxel_dashboard.sandbox")
            sandbox_logger.setLevel(logging.DEBUG)
            sandbox_logger.addHandler(logging.StreamHandler())
        server = SandboxServer(
            host=options["host"],
            port=options["port"],
            speed=options["speed"],
            fault_rate=options["fault_rate"],
            stall_seconds=options["stall_seconds"],
            slow_seconds=options["slow_seconds"],
            seed=options["seed"] if options["seed"] is not None else time.time_ns(),
            state_file=options["state_file"],
        )
        try:
            server.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on {options['host']}:{options['port']}: {exc}"
            ) from exc
        stop = threading.Event()
        previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
        self.stdout.write(f"Pixxel sandbox listening on {server.base_url}")
        self.stdout.write(
            "Any API key starting with 'sbx_' is accepted (send it raw in the Authorization header); "
            "each key sees its own jobs. Control API under /_sandbox/. Ctrl-C to stop."
        )
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
            self.stdout.write("Pixxel sandbox stopped.")
