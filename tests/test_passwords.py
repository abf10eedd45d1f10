"""The password policy and the way passwords are stored."""
import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from tracker.extensions import db
from tracker.models import User
from tracker.passwords import MIN_LENGTH, password_problem
from tracker.services.errors import RuleError
from tracker.services.staff import create_user

from .factories import DEFAULT_PASSWORD, make_user


@pytest.mark.parametrize("password", ["", "short", "elevenchars", "a1!" * 3 + "x"])
def test_short_passwords_are_refused(password):
    """Anything under the minimum length is refused with a sentence saying so."""
    assert len(password) < MIN_LENGTH
    assert password_problem(password) == f"Use at least {MIN_LENGTH} characters."


@pytest.mark.parametrize("password", [
    "password1234", "Password1234", "passwordpassword", "qwertyuiop12", "123456789012",
    "aaaaaaaaaaaaaaa", "Password2024!", "P@ssw0rd2026!!", "W3lcome!!2026", "iloveyou1234",
    "1qaz2wsx3edc", "abcdefghijklmn", "09876543210987", "qwertyuiopasdf", "abcabcabcabc",
    "summer2026summer", "!!!!2026!!!!", "Infusion2026#", "LetMeIn123456", "  letmein  12345",
])
def test_common_and_simple_passwords_are_refused(password):
    """Breach-list passwords, common words dressed up with digits/symbols/look-alikes, keyboard
    runs and repeated patterns are all refused."""
    assert password_problem(password) == "This password is too common or too simple; choose another."


def test_password_containing_the_email_name_is_refused():
    """A password built on the account's own email name is refused."""
    assert password_problem("maria.lopez-2026-chair", "maria.lopez@clinic.test") == \
        "The password must not contain your email name."


def test_overlong_password_is_refused():
    """More than 256 characters is refused (hashing cost is bounded)."""
    assert password_problem("x7Gq" * 65) == "Use at most 256 characters."


@pytest.mark.parametrize("password", [
    DEFAULT_PASSWORD, "violet tram Kettle 42", "9fT#kq2!Lm8z", "chair-maple-onion-river",
    "Übergrößenträger 7", "🦔 hedgehog lantern 🦔",
])
def test_reasonable_passwords_pass(password):
    """Long, uncommon passwords (passphrases, random strings, non-ASCII) are accepted."""
    assert password_problem(password, "someone@clinic.test") is None


def test_create_user_refuses_policy_failures_on_the_password_field(app_ctx):
    """The staff service refuses a weak password with the error on the password field."""
    with pytest.raises(RuleError) as caught:
        create_user(email="new@clinic.test", role="frontdesk", password="Password2024!")
    assert caught.value.field == "password"
    assert db.session.scalar(select(User).where(User.email == "new@clinic.test")) is None


def test_passwords_are_hashed_with_scrypt(app_ctx):
    """Stored hashes use scrypt (werkzeug's modern default), salted, never the password."""
    first = create_user(email="a@clinic.test", role="frontdesk", password=DEFAULT_PASSWORD)
    second = create_user(email="b@clinic.test", role="frontdesk", password=DEFAULT_PASSWORD)
    assert first.password_hash.startswith("scrypt:")
    assert DEFAULT_PASSWORD not in first.password_hash
    assert first.password_hash != second.password_hash  # salted
    assert first.check_password(DEFAULT_PASSWORD) and not first.check_password("wrong one entirely")


def test_old_hash_is_upgraded_at_login(app, client):
    """An account still holding an older (pbkdf2) hash gets a scrypt hash at its next login."""
    with app.app_context():
        user = make_user(role="frontdesk")
        user.password_hash = generate_password_hash(DEFAULT_PASSWORD, method="pbkdf2:sha256")
        db.session.commit()
        user_id, email = user.id, user.email
    assert client.post("/login", data={"email": email, "password": DEFAULT_PASSWORD}).status_code == 302
    with app.app_context():
        assert db.session.get(User, user_id).password_hash.startswith("scrypt:")


@pytest.mark.parametrize("password", [
    "robert19840512", "michelle12031985", "1q2w3e4r5t6y7u", "zaq1xsw2cde3",
])
def test_guessable_passwords_are_refused(password):
    """Passwords today's word lists let through but zxcvbn rates easy to guess (a name and a
    date, a keyboard walk, a breached password) are refused with a sentence that says so."""
    problem = password_problem(password, "someone@clinic.test")
    assert problem is not None and problem.startswith("This password is too easy to guess")


def test_guessable_message_explains_why():
    """The message names zxcvbn's reason and how to do better."""
    problem = password_problem("michelle12031985", "someone@clinic.test")
    assert problem == ("This password is too easy to guess (Common names and surnames are easy "
                       "to guess). Choose a longer one, for example three or four unrelated words.")


def test_the_email_helps_the_estimate():
    """The parts of the account's own email name count as known words."""
    assert password_problem("Kowalczyk2026", "j.kowalczyk@clinic.test") is not None
    assert password_problem("Kowalczyk2026", "someone@clinic.test") is None


def test_very_long_passwords_are_rated_quickly():
    """A 256-character password is rated on its first 64 characters (zxcvbn's work is bounded)."""
    assert password_problem("q7#Lm" + "x" * 251) is None
