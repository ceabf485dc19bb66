"""name=value settings: the one parser behind ATELIER_MODELS and PRE_INFERENCE_MODEL_POOLS."""
import pytest

from atelier_kit.assignments import parse_assignments


def test_entries_are_trimmed_and_blank_ones_skipped():
    assert parse_assignments(" a=1 , b/c.d=/x/y ,,", "V") == {"a": "1", "b/c.d": "/x/y"}
    assert parse_assignments("", "V") == {}


@pytest.mark.parametrize("value", ["a", "a=", "=1", "a b=1", "a=1,a=2", "../a=1", "a/=1"])
def test_a_bad_entry_names_the_variable(value):
    with pytest.raises(ValueError, match="^V "):
        parse_assignments(value, "V")


def test_values_may_be_checked():
    assert parse_assignments("a=ok", "V", valid_value=lambda v: v == "ok") == {"a": "ok"}
    with pytest.raises(ValueError, match="must be ok"):
        parse_assignments("a=no", "V", valid_value=lambda v: v == "ok", value_rule="must be ok")
