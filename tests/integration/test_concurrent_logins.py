"""Wrong passwords tried at once against one account, each seller with its own engine as
separate processes would: every failure counts, so guessing in parallel still locks the account.

Runs on a SQLite file, and on PostgreSQL when TICKETDOMAIN_TEST_PG_URL is set (CI sets it)."""

from __future__ import annotations

import threading

from support.agency import set_up_agency
from support.race import SELLERS, StorageFactory, new_storage, new_world, seller
from ticketdomain import ActorKind, LoginRelay
from ticketdomain.core.errors import ConcurrencyError, LoginFailedError
from ticketdomain.core.identity import CredentialOwner, credential_id

__all__ = ["new_storage"]  # the fixture, imported for pytest

PASSWORD = "the right passphrase"


def test_wrong_passwords_tried_at_once_each_count_towards_the_lock_out(
    new_storage: StorageFactory,
) -> None:
    world = new_world(new_storage)
    agency = set_up_agency(world)
    world.domain.host.set_password(ActorKind.RELAY, agency.alice_id, PASSWORD)
    sellers = [seller(world, new_storage()) for _ in range(SELLERS - 2)]
    start = threading.Barrier(len(sellers))
    outcomes: list[str] = []
    lock = threading.Lock()

    def guess(domain_index: int) -> None:
        start.wait()
        try:
            sellers[domain_index].identity.login_relay(
                LoginRelay(agency.sales_point_id, "alice@beau-rivage.ch", "a wrong guess!")
            )
        except LoginFailedError:
            outcome = "refused"
        except ConcurrencyError:
            outcome = "conflict"  # a database that refuses the race rather than waiting
        else:
            outcome = "accepted"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(len(sellers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert "accepted" not in outcomes
    with world.storage.unit_of_work() as uow:
        credential = uow.credentials.get(credential_id(CredentialOwner.INDIVIDUAL, agency.alice_id))
    assert credential is not None
    # Four failures, none lost to another's write: one more locks the account.
    assert credential.failed_attempts == outcomes.count("refused") == len(sellers)
