from ticketdomain.ports.storage import Storage
from ticketdomain.testing import InMemoryStorage
from ticketdomain.testing.contracts import StorageContract


class TestInMemoryStorage(StorageContract):
    def make_storage(self) -> Storage:
        return InMemoryStorage()
