from __future__ import annotations

import pytest

from connections.models import ConnectionProfile
from tests.conftest import mapped_transfer
from transfers.models import Transfer


@pytest.fixture
def transfer(profile: ConnectionProfile) -> Transfer:
    return mapped_transfer(profile, ["202401", "202402"])
