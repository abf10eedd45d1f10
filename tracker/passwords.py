"""Password policy: long enough, not common, not the email."""

MIN_LENGTH = 12
COMMON = {
    "password", "password1", "password123", "123456789012", "qwertyuiop12", "letmein12345",
    "passwordpassword", "welcome12345", "administrator", "iloveyou1234", "changeme1234",
    "123456123456", "abc123abc123", "qwerty123456", "trustno1trustno1", "monkey123456",
    "football1234", "baseball1234", "sunshine1234", "princess1234", "dragon123456",
    "infusion1234", "clinic123456", "ketamine1234", "password1234", "passw0rd1234",
    "aaaaaaaaaaaa", "111111111111", "000000000000", "1234567890ab", "qwertyqwerty",
}


def password_problem(password: str, email: str = "") -> str | None:
    """A sentence saying what is wrong with the password, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > 256:
        return "Use at most 256 characters."
    lowered = password.lower()
    if lowered in COMMON or len(set(lowered)) < 4:
        return "This password is too common or too simple; choose another."
    local = email.split("@")[0].lower()
    if local and len(local) >= 4 and local in lowered:
        return "The password must not contain your email name."
    return None
