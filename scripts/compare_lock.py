"""Print `name: locked -> installed` for each package whose installed version (pip freeze on stdin)
differs from the lock file named on the command line; used by scripts/check-newest."""

from __future__ import annotations

import re
import sys


def pins(lines: list[str]) -> dict[str, str]:
    """`name==version` lines as {normalised name: version}."""
    found = {}
    for line in lines:
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", line)
        if match:
            found[re.sub(r"[-_.]+", "-", match.group(1)).lower()] = match.group(2)
    return found


def main() -> int:
    with open(sys.argv[1], encoding="utf-8") as lock:
        locked = pins(lock.readlines())
    installed = pins(sys.stdin.readlines())
    changed = [f"  {name}: {locked.get(name, '(not locked)')} -> {version}"
               for name, version in sorted(installed.items()) if locked.get(name) != version]
    print("\n".join(changed) if changed else "  (none)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
