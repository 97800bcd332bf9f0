"""A faithful, stateful simulator of the DHIS2 Web API (2.36-2.42) for tests and demos.

>>> sim = Simulator("2.40.4.1", "demo-source")
>>> client = httpx.Client(transport=sim.transport(), base_url="http://sim.local",
...                       auth=("admin", "district"))

This package is framework-free; only ``management/commands`` imports Django.
"""

from simulator.core import ConnectionResetFault, Simulator
from simulator.faults import Faults
from simulator.http import SimRequest, SimResponse

__all__ = ["ConnectionResetFault", "Faults", "SimRequest", "SimResponse", "Simulator"]
