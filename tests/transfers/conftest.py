from __future__ import annotations

import pytest

from connections.models import ConnectionProfile
from transfers.models import Transfer, TransferMapping


@pytest.fixture
def transfer(profile: ConnectionProfile) -> Transfer:
    t = Transfer.objects.create(
        name="Monthly HMIS",
        profile=profile,
        data_set="BfMAe6Itzgt",
        periods=["202401", "202402"],
        org_units=["ImspTQPwCqd"],
    )
    TransferMapping.objects.create(
        transfer=t, source_data_element="fbfJHSPpUQD", target_data_element="cYeuwXTCPkU"
    )
    return t
