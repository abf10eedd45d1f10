"""Write instance/config.py with a fresh random secret key (run once by `make run`)."""
import os
import secrets
import sys

TEMPLATE = """# Local settings for this machine; never commit this file.
SECRET_KEY = {key!r}
"""


def main(instance_dir: str = "instance") -> int:
    """Create the instance folder and its config file unless it exists."""
    os.makedirs(instance_dir, exist_ok=True)
    path = os.path.join(instance_dir, "config.py")
    if os.path.exists(path):
        return 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(TEMPLATE.format(key=secrets.token_hex(32)))
    print(f"Wrote {path} with a new secret key.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
