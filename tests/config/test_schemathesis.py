"""Property-based tests of the whole API from its own OpenAPI schema (schemathesis).

Every operation of `/api/schema/` is called with generated requests, in-process through the
Django WSGI application, as an Admin (alice) and as an Operator (bob). No response may be a
500, and every response must be documented: its status code in the schema and its body
matching the schema for that code. The DHIS2 instances point at 127.0.0.1:9, where nothing
listens, so an endpoint that asks DHIS2 answers 502 (which the schema documents) and nothing
leaves the machine.

Generated path ids are replaced by the ids of real objects (`tests.config.world`), otherwise
nearly every request to a detail route would be a trivial 404. Hypothesis runs derandomized
with a fixed number of examples, so CI runs the same cases every time.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Iterator

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import Unsatisfiable
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.config.world import World, build_world

pytestmark = [pytest.mark.slow, pytest.mark.django_db]

#: Examples per operation and mode (positive, negative): about 80 operations give over 1,000
#: cases, each sent as two users; a few minutes on 2 cores.
MAX_EXAMPLES = 10


def no_server_error(ctx: object, response, case) -> None:
    """A 500 is a bug. 502 is DHIS2 not answering (here: never), which the schema documents."""
    if response.status_code >= 500 and response.status_code != 502:
        raise AssertionError(f"{response.status_code} from {case.operation.label}")


CHECKS = [no_server_error, status_code_conformance, response_schema_conformance]


@pytest.fixture
def tokens(alice: User, bob: User) -> dict[str, str]:
    return {
        name: Token.objects.create(user=user).key for name, user in (("alice", alice), ("bob", bob))
    }


@pytest.fixture
def world(alice: User) -> World:
    return build_world(owner=alice)


@pytest.fixture
def keep_the_test_connection() -> Iterator[None]:
    """Call the WSGI app as Django's test client does: without closing the connection per request.

    The handler closes "old" database connections when a request starts and finishes, which
    would close the test's transaction under it.
    """
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(keep_the_test_connection: None, tokens: dict[str, str], settings):
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis' WSGI requests name this host
    return schemathesis.openapi.from_wsgi(
        "/api/schema/", application, headers={"Authorization": f"Token {tokens['alice']}"}
    )


_FAMILY = re.compile(r"^/api/v1/([a-z-]+)/\{")


def _real_path_parameters(operation, world: World) -> dict[str, object]:
    """The id of a real object of the operation's family for `{id}`, a real data set for `{uid}`."""
    names = {p.name for p in operation.path_parameters}
    fixed: dict[str, object] = {}
    match = _FAMILY.match(operation.path)
    if match and "id" in names:
        fixed["id"] = world.pk_for(match.group(1))
    if "uid" in names:
        fixed["uid"] = "BfMAe6Itzgt"
    return fixed


def _summary(exc: BaseException) -> str:
    """What failed, without the request details: the check codes and the status received."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    cut = next((i for i, ln in enumerate(lines) if ln.startswith("Reproduce")), len(lines))
    return " | ".join(ln[:300] for ln in lines[1:cut])


def test_api_conforms_to_its_schema(api_schema, world: World, tokens: dict[str, str]) -> None:
    failures: Counter[str] = Counter()
    calls: list[int] = []
    cases: list[int] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 50  # the schema lists the whole API

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(
                mode, path_parameters=_real_path_parameters(operation, world)
            )

            label = operation.label

            @given(case=strategy)
            @hypothesis_settings(
                max_examples=MAX_EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate],
            )
            def check(case) -> None:  # runs within this iteration: `label` is its own
                cases.append(1)
                # The operator first: an admin's DELETE would leave the operator only 404s.
                for user in ("bob", "alice"):
                    calls.append(1)
                    try:
                        case.call_and_validate(
                            headers={"Authorization": f"Token {tokens[user]}"}, checks=CHECKS
                        )
                    except (Exception, BaseExceptionGroup) as exc:
                        failures[f"{user} {label}: {_summary(exc)}"] += 1  # noqa: B023

            with contextlib.suppress(Unsatisfiable):  # a negative mode with nothing to negate
                check()

    print(f"schemathesis: {len(cases)} cases, {len(calls)} calls, {len(operations)} operations")
    assert len(cases) >= 1000
    report = "\n".join(f"{n} x {text}" for text, n in sorted(failures.items()))
    assert not failures, f"{sum(failures.values())} failures, {len(failures)} distinct:\n{report}"
