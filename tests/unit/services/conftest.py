import pytest

from support.agency import Agency, set_up_agency
from ticketdomain.testing.domain import FakeWorld, build_fake_world


@pytest.fixture
def world() -> FakeWorld:
    return build_fake_world()


@pytest.fixture
def agency(world: FakeWorld) -> Agency:
    return set_up_agency(world)
