"""Which characters client text may hold (finding 6), and the per-user/per-key policy rules
(finding 3)."""
import pytest

from app.domain.policy import load_policy
from app.domain.text_rules import is_clean_ascii_token, refused_character


@pytest.mark.parametrize("text", ["\x00", "a\x07", "\x1b[31m", "\x7f", "\x85", "\x9f", "\ud800", "x\udfff"])
def test_control_characters_and_lone_surrogates_are_refused_everywhere(text):
    assert refused_character(text) and refused_character(text, multiline=True)


@pytest.mark.parametrize("text", ["a\tb", "two\nlines", "cr\r\n"])
def test_prompts_may_keep_tabs_and_line_breaks_one_line_fields_may_not(text):
    assert refused_character(text, multiline=True) is None
    assert refused_character(text) is not None


@pytest.mark.parametrize("text", ["plain", "ünïcödé ✓ 灯台", "emoji \U0001F600", "\u00a0nbsp"])
def test_printable_text_passes(text):
    assert refused_character(text) is None and refused_character(text, multiline=True) is None


def test_the_reason_names_the_character_and_where():
    assert refused_character("ab\x00") == "must not contain a control character (U+0000) at position 2"
    assert "surrogate" in refused_character("\ud800")


@pytest.mark.parametrize("value,ok", [("req-1", True), ("", False), ("a\x00", False), ("é", False), ("r" * 129, False), ("r" * 128, True)])
def test_clean_ascii_tokens(value, ok):
    assert is_clean_ascii_token(value, 128) is ok


def test_a_keys_limits_only_narrow_a_per_user_tier_but_override_a_per_key_one():
    policy = load_policy(environ={})
    free = policy.limits_for("free")
    narrowed = free.narrowed_by({"concurrency": 9, "requests_per_minute": 2, "max_width": 2048})
    assert (narrowed.concurrency, narrowed.requests_per_minute, narrowed.max_width) == (1, 2, 512)
    assert policy.limits_for("partner").with_overrides({"concurrency": 50}).concurrency == 50
    assert [policy.counts_per_key(t) for t in ("free", "pro", "partner", "unknown", None)] == [False, False, True, False, False]


def test_per_key_must_be_a_boolean(tmp_path):
    policy_file = tmp_path / "policy.toml"
    from app.domain.policy import DEFAULT_POLICY_FILE

    policy_file.write_text(DEFAULT_POLICY_FILE.read_text().replace("per_key = true", "per_key = 1"))
    with pytest.raises(ValueError, match="per_key"):
        load_policy(policy_file, environ={})
