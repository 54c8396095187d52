"""Check an operator's /metrics against the README's metrics table.

Usage: metrics_check.py README.md METRICS_URL [--require-all] [--require NAME]... [--allow-missing NAME]...

Every family of the table not marked *(ours)* is a reference family. Each one
present on /metrics must have the table's type and exactly the table's labels
(plus the common application label; quantile/le on summary and histogram
samples). Prints the reference families found and missing and any mismatch.
Exit status 1 on a mismatch, on a missing --require family, or with
--require-all on any missing family not named by --allow-missing.
"""
import re
import sys
import urllib.request

readme, url = sys.argv[1], sys.argv[2]
require_all, required, allowed = False, [], []
args = sys.argv[3:]
while args:
    a = args.pop(0)
    if a == "--require-all":
        require_all = True
    elif a in ("--require", "--allow-missing") and args:
        (required if a == "--require" else allowed).append(args.pop(0))
    else:
        sys.exit("metrics_check: unknown argument " + a)

table = {}  # name -> (kind, labels, ours)
in_metrics = False
for line in open(readme, encoding="utf-8"):
    if line.startswith("## "):
        in_metrics = line.strip() == "## Metrics"
    m = re.match(r"\| `([a-z0-9_:]+)` \| (counter|gauge|summary|histogram) \| ([^|]*) \| (.*) \|\s*$", line)
    if in_metrics and m:
        labels = sorted(re.findall(r"`([a-z0-9_]+)`", m.group(3)))
        table[m.group(1)] = (m.group(2), labels, "*(ours)*" in m.group(4))
if not table:
    sys.exit("no metrics table found in " + readme)

text = urllib.request.urlopen(url, timeout=10).read().decode()
types, series = {}, {}  # family -> type; family -> set of label-name tuples
sample_re = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ")
label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"')
for line in text.splitlines():
    if line.startswith("# TYPE "):
        _, _, name, kind = line.split()
        types[name] = kind
        continue
    m = sample_re.match(line)
    if not m:
        continue
    name = m.group(1)
    fam = name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("summary", "histogram"):
            fam = base
    names = [n for n in label_re.findall(m.group(3) or "") if n not in ("quantile", "le")]
    series.setdefault(fam, set()).add(tuple(sorted(names)))

found, missing, bad = [], [], []
for name, (kind, labels, ours) in sorted(table.items()):
    if ours:
        continue
    if name not in series:
        missing.append(name)
        continue
    want = tuple(sorted(labels + ["application"]))
    wrong = [s for s in series[name] if s != want]
    if types.get(name) != kind:
        bad.append("%s: type %s, README says %s" % (name, types.get(name), kind))
    elif wrong:
        bad.append("%s: labels %s, README says %s" % (name, list(wrong[0]), list(want)))
    else:
        found.append(name)

print("reference families found with the README's labels (%d): %s" % (len(found), " ".join(found)))
print("reference families missing (%d): %s" % (len(missing), " ".join(missing) or "-"))
for b in bad:
    print("MISMATCH", b)
undocumented = sorted(f for f in series if f not in table and not f.startswith(("go_", "process_", "promhttp_")))
if undocumented:
    print("families on /metrics not in the README table: %s" % " ".join(undocumented))
failed = bool(bad)
for name in required:
    if name not in found:
        print("REQUIRED family not found with its labels: " + name)
        failed = True
if require_all and [m for m in missing if m not in allowed]:
    failed = True
sys.exit(1 if failed else 0)
