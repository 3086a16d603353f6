"""Fails when an #include crosses a line the wrong way.

Between layers (DESIGN.md): core depends on nothing of ours; crypto and store on core, store also on
crypto; net on core and crypto; appliance on everything; net and store never include each other.
Inside appliance/ (appliance/README.md): a room includes only itself and the rooms on lower levels;
rooms on one level never include each other. Run with --self-test to see a wrong include fail."""
import os
import re
import sys
import tempfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LAYERS = {
    "core": {"core"},
    "crypto": {"core", "crypto"},
    "store": {"core", "crypto", "store"},
    "net": {"core", "crypto", "net"},
    "appliance": {"core", "crypto", "store", "net", "appliance"},
}
# appliance/'s rooms, top level first; a room may include the rooms of every later level.
ROOM_LEVELS = [
    {"daemon", "cli", "portald"},
    {"admin"},
    {"smtp", "pop3", "portal"},
    {"delivery", "jobs", "auth", "mailauth", "lifecycle", "acme"},
    {"mailstore"},
    {"directory", "keys", "audit", "ops"},
    {"config", "common"},
]
ROOMS = {room: level for level, rooms in enumerate(ROOM_LEVELS) for room in rooms}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def room_may_include(room, target_room):
    return target_room == room or ROOMS[target_room] > ROOMS[room]


def check_file(root, path, layer, room):
    found = []
    rel = os.path.relpath(path, root)
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            parts = m.group(1).split("/")
            target = parts[0]
            if target in LAYERS and target not in LAYERS[layer]:
                found.append(f"{rel}:{number}: {layer} may not include {m.group(1)}")
            if target == "tests":
                found.append(f"{rel}:{number}: product code includes test code")
            if layer == "appliance" and target == "appliance":
                target_room = parts[1] if len(parts) > 2 else None
                if room is None or target_room not in ROOMS:
                    found.append(f"{rel}:{number}: appliance code lives in a room (appliance/ROOM/), not {m.group(1)}")
                elif not room_may_include(room, target_room):
                    found.append(f"{rel}:{number}: appliance/{room} may not include {m.group(1)} (rooms include only lower levels)")
    return found


def violations(root=ROOT):
    found = []
    for layer in LAYERS:
        base = os.path.join(root, layer)
        for folder, _, files in os.walk(base):
            rel = os.path.relpath(folder, base)
            room = None
            if layer == "appliance":
                room = rel.split(os.sep)[0] if rel != "." else None
                if room is not None and room not in ROOMS:
                    found.append(f"appliance/{rel}: not a room of the map in tests/layering_test.py")
                    room = None
            for name in files:
                if not name.endswith((".h", ".cc", ".hpp", ".cpp")):
                    continue
                path = os.path.join(folder, name)
                if layer == "appliance" and room is None:
                    found.append(f"{os.path.relpath(path, root)}: appliance code lives in a room (appliance/ROOM/)")
                found.extend(check_file(root, path, layer, room))
    return found


def self_test():
    """A tree with one wrong include between rooms and one right one: only the wrong one is named."""
    with tempfile.TemporaryDirectory() as tree:
        os.makedirs(os.path.join(tree, "appliance", "directory"))
        os.makedirs(os.path.join(tree, "appliance", "smtp"))
        with open(os.path.join(tree, "appliance", "directory", "bad.h"), "w", encoding="utf-8") as f:
            f.write('#include "appliance/smtp/inbound_service.h"\n')
        with open(os.path.join(tree, "appliance", "smtp", "good.h"), "w", encoding="utf-8") as f:
            f.write('#include "appliance/directory/directory.h"\n#include "store/lmdb.h"\n')
        problems = violations(tree)
        for p in problems:
            print(p)
        return len(problems) == 1 and "appliance/directory may not include appliance/smtp" in problems[0]


if __name__ == "__main__":
    if "--self-test" in sys.argv:
        ok = self_test()
        print("layering self-test:", "the wrong include failed" if ok else "FAILED TO CATCH the wrong include")
        sys.exit(0 if ok else 1)
    problems = violations()
    for p in problems:
        print(p)
    print(f"layering: {len(problems)} violations")
    sys.exit(1 if problems else 0)
