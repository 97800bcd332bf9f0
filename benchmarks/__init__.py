"""Benchmarks of the platform against served DHIS2 simulators: ``python -m benchmarks``."""
