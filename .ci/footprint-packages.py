#!/usr/bin/env python3
"""Attribute an unstripped Go binary's bytes to modules (issue 16 item 2).

  footprint-packages.py BINARY [MODULE...]

Counts the symbols `go tool nm -size` lists that lie in the file (text,
rodata, data; BSS such as crypto/internal/fips140/drbg.memory, 32 MiB, is
skipped by address, whatever its letter), by module (the longest MODULE
prefix of the symbol; others are "std+runtime", our own "statemgr"). The
function tables (.gopclntab, about a third of the file) have no per-package
symbols, so each module's share of them is its share of text: the last column
estimates what the module costs in the stripped binary.
"""
import collections, re, subprocess, sys

binary, modules = sys.argv[1], sorted(sys.argv[2:], key=len, reverse=True)
sections = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True, check=True).stdout
file_end = 0  # end of the last allocated section that occupies file bytes
for m in re.finditer(r"\]\s+(\S+)\s+(PROGBITS)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+\S+\s+(\S*A\S*)", sections):
    file_end = max(file_end, int(m.group(3), 16) + int(m.group(4), 16))
aggregate = ("go:func.*", "runtime.findfunctab", "runtime.typelink", "runtime.itablink", "runtime.pclntab")
text, other = collections.Counter(), collections.Counter()
nm = subprocess.run(["go", "tool", "nm", "-size", binary], capture_output=True, text=True, check=True).stdout
for line in nm.splitlines():
    f = line.split(None, 3)
    if len(f) < 4 or f[2] not in "TtRrDd" or f[3] in aggregate or int(f[0], 16) >= file_end:
        continue
    size = int(f[1])
    name = re.sub(r"^(type:\*?|go:itab\.\*?|go:string\.|go:constinfo\.|go:cuinfo\.[^.]*\.)", "", f[3])
    key = "std+runtime"
    if name.startswith("github.com/statemgr/statemgr"):
        key = "statemgr"
    else:
        for mod in modules:
            # The linker escapes dots in a path's last element: nats%2ego.
            head, _, last = mod.rpartition("/")
            esc = head + "/" + last.replace(".", "%2e")
            if any(name.startswith(m + "/") or name.startswith(m + ".") for m in (mod, esc)):
                key = mod
                break
    (text if f[2] in "Tt" else other)[key] += size
t_sum, o_sum = sum(text.values()), sum(other.values())
keys = sorted(set(text) | set(other), key=lambda k: -(text[k] + other[k]))
pcln = max(file_end - t_sum - o_sum, 0)  # function tables and padding
print(f"{'module':45} {'text':>9} {'data+ro':>9} {'est. total':>10}")
for k in keys:
    est = text[k] + other[k] + (pcln * text[k] / t_sum if t_sum else 0)
    print(f"{k:45} {text[k]/1e6:8.2f}M {other[k]/1e6:8.2f}M {est/1e6:9.2f}M")
print(f"{'all (loaded image)':45} {t_sum/1e6:8.2f}M {o_sum/1e6:8.2f}M {file_end/1e6:9.2f}M")
