"""In-process httpx transport: requests never touch a socket."""

from __future__ import annotations

import httpx

from simulator.core import ConnectionResetFault, Simulator
from simulator.http import SimRequest


class SimTransport(httpx.BaseTransport):
    """``httpx.Client(transport=sim.transport(), base_url="http://sim.local")``.

    A connection-reset fault raises ``httpx.ReadError`` as httpx does for a peer reset.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw}
        sim_request = SimRequest.from_url(request.method, str(request.url), headers, body)
        try:
            response = self.sim.handle(sim_request)
        except ConnectionResetFault as exc:
            raise httpx.ReadError("[Errno 104] Connection reset by peer", request=request) from exc
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            content=response.body,
            request=request,
        )
