"""The shape helper must itself be able to fail."""

import pytest

from tests.simulator.helpers import assert_shape


def test_shape_helper_detects_missing_and_extra_keys_and_types() -> None:
    assert_shape({"a": 1, "b": [{"c": "x"}]}, {"a": 2, "b": [{"c": "y"}]})
    with pytest.raises(AssertionError):
        assert_shape({"a": 1}, {"a": 1, "b": 2})
    with pytest.raises(AssertionError):
        assert_shape({"a": 1, "z": 0}, {"a": 1})
    with pytest.raises(AssertionError):
        assert_shape({"a": "1"}, {"a": 1})
    with pytest.raises(AssertionError):
        assert_shape({"b": [{"c": 1}]}, {"b": [{"c": "y"}]})
