"""Fails when an #include crosses a layer the wrong way (DESIGN.md: core depends on nothing of ours;
crypto and store on core, store also on crypto; net on core and crypto; appliance on everything;
net and store never include each other)."""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
ALLOWED = {
    "core": {"core"},
    "crypto": {"core", "crypto"},
    "store": {"core", "crypto", "store"},
    "net": {"core", "crypto", "net"},
    "appliance": {"core", "crypto", "store", "net", "appliance"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def violations():
    found = []
    for layer, allowed in ALLOWED.items():
        for folder, _, files in os.walk(os.path.join(ROOT, layer)):
            for name in files:
                if not name.endswith((".h", ".cc", ".hpp", ".cpp")):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = m.group(1).split("/")[0]
                        if target in ALLOWED and target not in allowed:
                            found.append(f"{os.path.relpath(path, ROOT)}:{number}: {layer} may not include {m.group(1)}")
                        if target == "tests":
                            found.append(f"{os.path.relpath(path, ROOT)}:{number}: product code includes test code")
    return found


if __name__ == "__main__":
    problems = violations()
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} violations")
    sys.exit(1 if problems else 0)
