"""``python manage.py dhis2_simulator``: serve the DHIS2 simulator until interrupted.

The same options as ``python -m simulator`` (``simulator/__main__.py``), which is the entry point
to use where the platform is not configured: this one loads Django's settings first, so with
``DEBUG`` off it needs the platform's secrets.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError

from simulator.__main__ import add_arguments, build_simulator, serve_until_stopped


class Command(BaseCommand):
    help = "Serve a simulated DHIS2 Web API on 127.0.0.1 (no network access needed)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        # ``--version`` selects the DHIS2 version here; it replaces Django's own flag.
        parser.conflict_handler = "resolve"
        for group in parser._action_groups:
            group.conflict_handler = "resolve"
        add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sim = build_simulator(options)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        # OutputWrapper is a TextIOBase over the real stdout; only write() and flush() are used.
        serve_until_stopped(sim, options["host"], options["port"], cast(TextIO, self.stdout))
