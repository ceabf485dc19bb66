"""secret_box: what one key encrypts, a box holding it (first or as a fallback) decrypts, and
nothing else does; webhook_signatures: the scheme payments verifies and pre_inference signs."""
import pytest

from atelier_kit.secret_box import SecretBox, SecretUnreadable
from atelier_kit.webhook_signatures import SignatureError, sign, verify

OLD = "k" * 8 + "0123456789abcdefghijklmnopqrstuv"
NEW = "n" * 8 + "zyxwvutsrqponmlkjihgfedcba987654"


def test_a_secret_round_trips_and_is_not_stored_readable():
    box = SecretBox([NEW], info=b"test v1")
    token = box.encrypt("whsec_abc")
    assert "whsec_abc" not in token and box.decrypt(token) == "whsec_abc"
    assert box.encrypt("whsec_abc") != token  # a fresh IV each time


def test_a_fallback_key_still_decrypts_and_the_first_encrypts():
    old_token = SecretBox([OLD], info=b"test v1").encrypt("s")
    rotated = SecretBox([NEW, OLD], info=b"test v1")
    assert rotated.decrypt(old_token) == "s"
    with pytest.raises(SecretUnreadable):
        SecretBox([OLD], info=b"test v1").decrypt(rotated.encrypt("s"))


def test_the_purpose_is_bound_into_the_key():
    with pytest.raises(SecretUnreadable):
        SecretBox([NEW], info=b"other store").decrypt(SecretBox([NEW], info=b"test v1").encrypt("s"))
    with pytest.raises(SecretUnreadable):
        SecretBox([NEW], info=b"test v1").decrypt("not a token")


def test_a_box_needs_a_secret():
    with pytest.raises(ValueError):
        SecretBox(["", ""], info=b"x")


def test_the_signature_scheme_is_stripes():
    # t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>, computed independently here.
    import hashlib
    import hmac

    expected = hmac.new(b"sec", b"1700000000." + b"{}", hashlib.sha256).hexdigest()
    assert sign("sec", b"{}", 1_700_000_000) == f"t=1700000000,v1={expected}"
    assert verify("sec", b"{}", f"t=1700000000,v1=00,v1={expected}", now=1_700_000_000) == 1_700_000_000
    for header in (None, "", "t=1700000000", "v1=" + expected, "t=abc,v1=" + expected, "t=1700000000,v1=" + expected[::-1],
                   b"t=1700000000,v1=\xff", "x" * 3000):
        with pytest.raises(SignatureError) as error:
            verify("sec", b"{}", header, now=1_700_000_000)
        assert error.value.code == "signature_invalid"
    with pytest.raises(SignatureError) as error:
        verify("sec", b"{}", sign("sec", b"{}", 1_700_000_000), tolerance_s=60, now=1_700_000_061)
    assert error.value.code == "signature_expired"
