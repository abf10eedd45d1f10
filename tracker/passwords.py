"""Password policy: long enough, not common, not a simple pattern, not the email, and hard to
guess by zxcvbn's estimate (dictionaries of breached passwords, names, words, keyboard walks,
dates, repeats and l33t substitutions)."""
import re

from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 256
MIN_STRENGTH = 3  # zxcvbn's score from 0 to 4; 3 is about 10^8 guesses or more
STRENGTH_INPUT_LENGTH = 64  # zxcvbn's work grows with length: rate the first 64 characters
CLINIC_WORDS = ("infusion", "clinic", "tracker", "ketamine", "patient", "frontdesk", "clinician")

# Whole passwords seen at the top of public breach lists (12 characters and longer).
COMMON = {
    "password", "password1", "password123", "123456789012", "qwertyuiop12", "letmein12345",
    "passwordpassword", "welcome12345", "administrator", "iloveyou1234", "changeme1234",
    "123456123456", "abc123abc123", "qwerty123456", "trustno1trustno1", "monkey123456",
    "football1234", "baseball1234", "sunshine1234", "princess1234", "dragon123456",
    "infusion1234", "clinic123456", "ketamine1234", "password1234", "passw0rd1234",
    "aaaaaaaaaaaa", "111111111111", "000000000000", "1234567890ab", "qwertyqwerty",
    "1q2w3e4r5t6y", "1qaz2wsx3edc", "zaq12wsxcde3", "qazwsxedcrfv", "asdfghjkl123",
    "iloveyouiloveyou", "starwars1234", "whatever1234", "pokemon12345", "superman1234",
    "batman123456", "michael12345", "jennifer1234", "computer1234", "internet1234",
    "letmeinletmein", "welcomewelcome", "adminadmin123",
}

# Words that, with digits or symbols around them or letters swapped for look-alike digits,
# make up most guessed passwords ("Password2024!", "W3lcome!!2026").
COMMON_WORDS = {
    "password", "passwort", "qwerty", "qwertyuiop", "asdfgh", "asdfghjkl", "zxcvbn", "letmein",
    "welcome", "admin", "administrator", "iloveyou", "monkey", "dragon", "football", "baseball",
    "soccer", "hockey", "sunshine", "princess", "trustno", "master", "shadow", "superman", "batman",
    "starwars", "whatever", "computer", "internet", "login", "changeme", "secret", "summer",
    "winter", "spring", "autumn", "january", "february", "march", "april", "june", "july",
    "august", "september", "october", "november", "december", "monday", "friday", "hello",
    "freedom", "charlie", "michael", "jennifer", "jordan", "pokemon", "clinic", "infusion",
    "ketamine", "hospital", "nurse", "doctor", "patient", "health", "tracker", "abc", "abcdef",
    "default", "test", "guest", "user", "access",
}

_LOOKALIKE = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                            "@": "a", "$": "s", "!": "i", "+": "t"})
_KEYBOARD_ROWS = ("1234567890", "qwertyuiopasdfghjklzxcvbnm", "abcdefghijklmnopqrstuvwxyz")


def _is_repeated_pattern(text: str) -> bool:
    """True for 'abcabcabcabc' or 'xyxyxyxyxyxy': a short chunk said again and again."""
    return re.fullmatch(r"(.{1,4})\1+", text) is not None


def _is_run(text: str) -> bool:
    """True for a straight run along the keyboard or the alphabet, forwards or backwards."""
    for row in _KEYBOARD_ROWS:
        doubled = row * 3
        if text in doubled or text in doubled[::-1]:
            return True
    return False


def _made_of_common_words(text: str, most: int = 3) -> bool:
    """True when the letters of `text` are one to `most` common words run together
    ('summer2026summer', 'P@ssw0rd!')."""
    trimmed = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", text)
    for candidate in (text, trimmed.translate(_LOOKALIKE)):
        letters = re.sub(r"[^a-z]", "", candidate)
        if not letters:
            continue
        # fewest words needed to spell letters[:i]
        need = [0] + [most + 1] * len(letters)
        for end in range(1, len(letters) + 1):
            for start in range(max(0, end - 16), end):
                if need[start] < most + 1 and letters[start:end] in COMMON_WORDS:
                    need[end] = min(need[end], need[start] + 1)
        if need[-1] <= most:
            return True
    return False


def password_problem(password: str, email: str = "") -> str | None:
    """A sentence saying what is wrong with the password, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    lowered = password.lower()
    squashed = re.sub(r"\s+", "", lowered)
    if (lowered in COMMON or squashed in COMMON or len(set(lowered)) < 4
            or _is_repeated_pattern(squashed) or _is_run(squashed)):
        return "This password is too common or too simple; choose another."
    letters_only = re.sub(r"[\d\W_]", "", squashed)
    if not letters_only or _made_of_common_words(squashed) or _is_repeated_pattern(letters_only):
        return "This password is too common or too simple; choose another."
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return "The password must not contain your email name."
    return _guessable(password, email)


def _guessable(password: str, email: str) -> str | None:
    """zxcvbn's verdict as a sentence, or None when the password is hard enough to guess."""
    local = email.split("@")[0].lower()
    parts = [part for part in re.split(r"[^a-z]+", local) if len(part) >= 3]
    hints = [word for word in (email.lower(), local, *parts) if word]
    rating = zxcvbn(password[:STRENGTH_INPUT_LENGTH], user_inputs=hints + list(CLINIC_WORDS))
    if rating["score"] >= MIN_STRENGTH:
        return None
    warning = (rating.get("feedback") or {}).get("warning") or ""
    because = f" ({warning.rstrip('.')})" if warning else ""
    return (f"This password is too easy to guess{because}. Choose a longer one, for example "
            "three or four unrelated words.")
