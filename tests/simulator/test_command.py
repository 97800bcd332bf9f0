"""The management command's argument parsing (serving itself is covered by served-mode tests)."""

from __future__ import annotations

from simulator.management.commands.dhis2_simulator import Command


def test_command_accepts_documented_options() -> None:
    parser = Command().create_parser("manage.py", "dhis2_simulator")
    opts = parser.parse_args(
        [
            "--port",
            "8081",
            "--dataset",
            "demo-destination",
            "--version",
            "2.39.5",
            "--latency-ms",
            "20",
            "--error-rate",
            "0.2",
            "--max-payload-bytes",
            "1000",
            "--seed",
            "3",
            "--host",
            "127.0.0.1",
        ]
    )
    assert opts.port == 8081 and opts.dataset == "demo-destination"
    assert opts.dhis2_version == "2.39.5" and opts.error_rate == 0.2
    assert opts.max_payload_bytes == 1000 and opts.seed == 3 and opts.latency_ms == 20
    assert parser.parse_args([]).dhis2_version == "2.40.4.1"
