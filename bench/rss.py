"""`python -m bench.rss OUT CMD...`: run CMD, then write its peak resident memory (KiB) to OUT.

Linux carries a process's memory high-water mark across fork and exec, so a child forked
straight from the (large) bench process would report the bench's own peak. This launcher is
small, so what it reports is the command's own peak. Only the standard library is imported.
"""
import os
import sys


def main(argv: list[str]) -> int:
    out, command = argv[0], argv[1:]
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _pid, status, usage = os.wait4(pid, 0)
    with open(out, "w", encoding="ascii") as handle:
        handle.write(str(usage.ru_maxrss))
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
