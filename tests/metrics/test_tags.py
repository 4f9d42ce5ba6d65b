"""TagSet: immutable, hashable by content, cheap to derive from."""

from __future__ import annotations

import copy
import pickle

import pytest

from greenws.metrics.tags import EMPTY_TAGS, TagSet


def test_equal_content_is_equal_and_hashes_alike_whatever_the_order() -> None:
    a = TagSet({"url": "ws://x", "status": "101"})
    b = TagSet({"status": "101", "url": "ws://x"})
    assert a is not b
    assert a == b
    assert hash(a) == hash(b)
    assert {a: 1}[b] == 1


def test_different_content_is_not_equal() -> None:
    assert TagSet({"a": "1"}) != TagSet({"a": "2"})
    assert TagSet({"a": "1"}) != TagSet({"a": "1", "b": "2"})
    assert TagSet({"a": "1"}) != "a"


def test_compares_equal_to_a_plain_mapping_with_the_same_items() -> None:
    assert TagSet({"a": "1"}) == {"a": "1"}
    assert TagSet({"a": "1"}) != {"a": "2"}


def test_keyword_construction_and_mapping_protocol() -> None:
    tags = TagSet({"a": "1"}, b="2")
    assert len(tags) == 2
    assert sorted(tags) == ["a", "b"]
    assert tags["b"] == "2"
    assert tags.get("missing") is None
    assert tags.get("missing", "x") == "x"
    assert "a" in tags and "c" not in tags
    assert dict(tags.items()) == {"a": "1", "b": "2"}
    with pytest.raises(KeyError):
        tags["missing"]


def test_immutable() -> None:
    tags = TagSet({"a": "1"})
    with pytest.raises(TypeError):
        tags["a"] = "2"  # type: ignore[index]
    with pytest.raises(AttributeError):
        tags._items = {}  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del tags._hash
    assert tags == {"a": "1"}


def test_building_does_not_alias_the_callers_dict() -> None:
    source = {"a": "1"}
    tags = TagSet(source)
    source["a"] = "changed"
    assert tags["a"] == "1"


def test_merged_lays_extra_over_the_tags_and_leaves_the_original_alone() -> None:
    base = TagSet({"a": "1", "b": "2"})
    merged = base.merged({"b": "3", "c": "4"})
    assert merged == {"a": "1", "b": "3", "c": "4"}
    assert base == {"a": "1", "b": "2"}
    assert hash(merged) == hash(TagSet({"a": "1", "b": "3", "c": "4"}))
    assert base.merged({}) is base


def test_as_dict_is_a_mutable_copy() -> None:
    tags = TagSet({"a": "1"})
    d = tags.as_dict()
    d["a"] = "2"
    assert tags["a"] == "1"
    assert type(d) is dict


def test_pickle_and_copy_keep_content_and_hash() -> None:
    tags = TagSet({"a": "1", "group": "::g"})
    restored = pickle.loads(pickle.dumps(tags))
    assert restored == tags and hash(restored) == hash(tags)
    assert copy.copy(tags) is tags
    assert copy.deepcopy(tags) is tags


def test_empty_tags() -> None:
    assert len(EMPTY_TAGS) == 0
    assert TagSet() == EMPTY_TAGS
    assert hash(EMPTY_TAGS) == hash(TagSet({}))
    assert repr(EMPTY_TAGS) == "TagSet({})"


def test_tag_interner_shares_equal_tag_sets_and_stays_bounded() -> None:
    from greenws.metrics.tags import TagInterner

    interner = TagInterner(limit=2)
    first = interner.intern({"url": "a", "status": "101"})
    assert interner.intern({"url": "a", "status": "101"}) is first
    assert interner.intern({"url": "b", "status": "101"}) is not first
    interner.intern({"url": "c"})  # the third distinct set clears the table
    again = interner.intern({"url": "a", "status": "101"})
    assert again == first and again is not first
