"""A structure's family, read in one go, answers what walking the tree read by read answers:
the ancestors, the direct sub-structures and everything below."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ticketdomain.core.contacts import Structure
from ticketdomain.core.distribution import Family

# Parents as indexes into the list of structures (or None, or one outside the family): forests,
# and the cycles set-up never makes but a walk must still end on.
parents = st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=12)), max_size=12)


def structures_of(parent_indexes: list[int | None]) -> list[Structure]:
    return [
        Structure(f"s{index}", "inst", f"Name {index % 3}", None if p is None else f"s{p}")
        for index, p in enumerate(parent_indexes)
    ]


def walk_up(by_id: dict[str, Structure], structure_id: str) -> list[str]:
    # As the services walked before: one read per parent.
    found: list[str] = []
    parent_id = by_id[structure_id].parent_id if structure_id in by_id else None
    while parent_id is not None and parent_id not in found and parent_id != structure_id:
        found.append(parent_id)
        parent_id = by_id[parent_id].parent_id if parent_id in by_id else None
    return found


def walk_down(by_id: dict[str, Structure], structure_id: str) -> dict[str, str]:
    def children(id: str) -> list[Structure]:
        return sorted(
            (s for s in by_id.values() if s.parent_id == id), key=lambda s: (s.name, s.id)
        )

    child_of: dict[str, str] = {}
    pending = [(child.id, child.id) for child in children(structure_id)]
    while pending:
        current, top = pending.pop()
        if current in child_of or current == structure_id:
            continue
        child_of[current] = top
        pending.extend((child.id, top) for child in children(current))
    return child_of


@given(parents, st.integers(min_value=0, max_value=12))
def test_the_family_walks_as_reads_would(parent_indexes: list[int | None], pick: int) -> None:
    structures = structures_of(parent_indexes)
    by_id = {s.id: s for s in structures}
    family = Family.of(structures)
    structure_id = f"s{pick}"
    assert family.get(structure_id) == by_id.get(structure_id)
    assert family.ancestors(structure_id) == walk_up(by_id, structure_id)
    assert family.below(structure_id) == walk_down(by_id, structure_id)
    assert family.children(structure_id) == sorted(
        (s for s in structures if s.parent_id == structure_id), key=lambda s: (s.name, s.id)
    )


def test_a_works_council_with_a_club_and_its_youth_section() -> None:
    family = Family.of(
        [
            Structure("group", "inst", "Group"),
            Structure("wc", "inst", "Works council", "group"),
            Structure("club", "inst", "Sports club", "wc"),
            Structure("choir", "inst", "Choir", "wc"),
            Structure("youth", "inst", "Youth", "club"),
        ]
    )
    assert family.ancestors("youth") == ["club", "wc", "group"]
    assert family.below("wc") == {"club": "club", "choir": "choir", "youth": "club"}
    assert [s.id for s in family.children("wc")] == ["choir", "club"]
    assert family.below("youth") == {} and family.ancestors("group") == []
