"""System adapters: the real clock, random ids and barcodes (and the fakes standing in for them)."""

from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone

import pytest

from ticketdomain.core.errors import ValidationError
from ticketdomain.ports.security import TokenGenerator
from ticketdomain.ports.system import BarcodeGenerator, Clock, IdGenerator
from ticketdomain.testing import FixedClock, SequentialBarcodes, SequentialIds
from ticketdomain.testing.fakes import SequentialTokens
from ticketdomain_system import (
    BARCODE_ALPHABET,
    SecretsBarcodeGenerator,
    SecretsTokenGenerator,
    SystemClock,
    UuidIdGenerator,
)


def test_the_system_clock_is_aware_utc_and_current() -> None:
    clock: Clock = SystemClock()
    before = time.time()
    now = clock.now()
    after = time.time()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before - 1 <= now.timestamp() <= after + 1


def test_uuid_ids_carry_their_kind_and_never_repeat() -> None:
    ids: IdGenerator = UuidIdGenerator()
    drawn = [ids.new_id("order") for _ in range(5000)]
    assert all(re.fullmatch(r"order_[0-9a-f]{32}", i) for i in drawn)
    assert len(set(drawn)) == len(drawn)


def test_barcodes_are_26_base32_characters_carrying_130_bits() -> None:
    barcodes: BarcodeGenerator = SecretsBarcodeGenerator()
    barcode = barcodes.new_barcode()
    assert re.fullmatch(r"[A-Z2-7]{26}", barcode)
    assert len(BARCODE_ALPHABET) == 32 and len(set(BARCODE_ALPHABET)) == 32
    assert 26 * math.log2(len(BARCODE_ALPHABET)) >= 128


def test_barcodes_never_repeat_over_many_draws() -> None:
    generator = SecretsBarcodeGenerator()
    drawn = [generator.new_barcode() for _ in range(20_000)]
    assert len(set(drawn)) == len(drawn)


def test_every_barcode_character_is_uniformly_random() -> None:
    # 4000 barcodes give 4000 draws per position: each of the 32 symbols is expected 125 times.
    # A position stuck on few symbols (a bug dropping bits) fails by far; the bounds allow a
    # normal run to pass with overwhelming probability (over 10 standard deviations each way).
    generator = SecretsBarcodeGenerator()
    drawn = [generator.new_barcode() for _ in range(4000)]
    for position in range(26):
        counts = Counter(barcode[position] for barcode in drawn)
        assert set(counts) == set(BARCODE_ALPHABET), f"position {position}"
        assert all(10 <= n <= 250 for n in counts.values()), f"position {position}"


@pytest.mark.parametrize(("bits", "length"), [(128, 26), (130, 26), (131, 27), (256, 52)])
def test_more_bits_make_longer_barcodes(bits: int, length: int) -> None:
    generator = SecretsBarcodeGenerator(bits)
    assert generator.length == length
    assert len(generator.new_barcode()) == length


def test_128_bits_leave_the_first_character_with_three_bits() -> None:
    generator = SecretsBarcodeGenerator(bits=128)
    firsts = {generator.new_barcode()[0] for _ in range(2000)}
    assert firsts == set(BARCODE_ALPHABET[:8])


@pytest.mark.parametrize("bits", [0, 64, 127, True, 128.0])
def test_fewer_than_128_bits_are_refused(bits: object) -> None:
    with pytest.raises(ValidationError):
        SecretsBarcodeGenerator(bits)  # type: ignore[arg-type]


def test_barcodes_drawn_from_many_threads_are_unique() -> None:
    generator = SecretsBarcodeGenerator()
    drawn: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [generator.new_barcode() for _ in range(500)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == 4000


# --- tokens (sessions, login links, API keys) -----------------------------------------------

URL_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def test_tokens_are_43_url_safe_characters_carrying_256_bits() -> None:
    tokens: TokenGenerator = SecretsTokenGenerator()
    token = tokens.new_token()
    assert len(token) == 43 and URL_SAFE.fullmatch(token)
    assert 43 * 6 >= 256


@pytest.mark.parametrize(("bits", "length"), [(128, 22), (130, 23), (256, 43), (512, 86)])
def test_tokens_carry_at_least_the_bits_asked_for(bits: int, length: int) -> None:
    generator = SecretsTokenGenerator(bits)
    drawn = [generator.new_token() for _ in range(200)]
    assert {len(token) for token in drawn} == {length}
    assert all(URL_SAFE.fullmatch(token) for token in drawn)
    assert length * 6 >= bits


def test_tokens_use_the_whole_url_safe_alphabet() -> None:
    # 2000 tokens of 43 characters: each of the 64 symbols shows up (a generator stuck on hex
    # digits or on letters fails), and no padding or other character ever does.
    generator = SecretsTokenGenerator()
    seen = Counter(character for _ in range(2000) for character in generator.new_token())
    assert len(seen) == 64
    assert URL_SAFE.fullmatch("".join(seen))


def test_tokens_never_repeat_over_many_draws_and_threads() -> None:
    generator = SecretsTokenGenerator()
    drawn: list[str] = [generator.new_token() for _ in range(20_000)]
    lock = threading.Lock()

    def draw() -> None:
        mine = [generator.new_token() for _ in range(500)]
        with lock:
            drawn.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(drawn)) == len(drawn) == 24_000


@pytest.mark.parametrize("bits", [0, 64, 127, -256, True, 128.0, "256", None])
def test_tokens_of_fewer_than_128_bits_are_refused(bits: object) -> None:
    with pytest.raises(ValidationError) as raised:
        SecretsTokenGenerator(bits)  # type: ignore[arg-type]
    assert raised.value.code == "setup_invalid"


# --- the fakes the unit tests use instead ----------------------------------------------------


def test_the_fixed_clock_moves_only_when_told() -> None:
    start = datetime(2025, 6, 1, 20, 0, tzinfo=timezone(timedelta(hours=2)))
    clock: Clock = FixedClock(start)
    assert clock.now() == clock.now() == start
    fixed = FixedClock(start)
    assert fixed.advance(timedelta(hours=3)) == start + timedelta(hours=3)
    fixed.set(datetime(2024, 1, 1, tzinfo=UTC))
    assert fixed.now() == datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        fixed.advance(timedelta(seconds=-1))


def test_the_fixed_clock_refuses_naive_moments() -> None:
    with pytest.raises(ValueError):
        FixedClock(datetime(2025, 6, 1))
    clock = FixedClock(datetime(2025, 6, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 6, 2))
    assert clock.now() == datetime(2025, 6, 1, tzinfo=UTC)


def test_sequential_ids_count_per_kind() -> None:
    ids: IdGenerator = SequentialIds()
    drawn = [ids.new_id(kind) for kind in ("order", "ticket", "order", "ticket", "ticket")]
    assert drawn == ["order-1", "ticket-1", "order-2", "ticket-2", "ticket-3"]


def test_sequential_barcodes_are_unique_and_readable() -> None:
    barcodes = SequentialBarcodes()
    drawn = [barcodes.new_barcode() for _ in range(1000)]
    assert drawn[:2] == ["BC000001", "BC000002"]
    assert len(set(drawn)) == 1000
    assert barcodes.issued == drawn


def test_sequential_tokens_are_unique_and_readable() -> None:
    tokens: TokenGenerator = SequentialTokens()
    drawn = [tokens.new_token() for _ in range(1000)]
    assert drawn[:2] == ["token000001", "token000002"]
    assert len(set(drawn)) == 1000
