#!/usr/bin/env bash
# Runs every cargo-fuzz target in fuzz/ for a while (default 120 s each) on the stable
# toolchain, seeded with the records of tests/fixtures/logs and ../shared/data, and prints one
# line per target: runs, corpus size, crashes. Crash inputs stay in fuzz/artifacts/<target>/.
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${1:-120}"
shift || true
if ! command -v cargo-fuzz >/dev/null 2>&1; then
  cargo install --locked cargo-fuzz
fi
# cargo-fuzz passes nightly-only flags; the stable compiler accepts them with this.
export RUSTC_BOOTSTRAP=1
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(sed -n 's/^name = "\(.*\)"$/\1/p' fuzz/Cargo.toml | grep -v nhiscope-fuzz)
fi
SEEDS="$(mktemp -d)"
trap 'rm -rf "$SEEDS"' EXIT
# One seed per record (NDJSON lines, array elements, wrapper elements) and one per whole file.
python3 - "$SEEDS" tests/fixtures/logs ../shared/data <<'PY'
import csv, hashlib, io, json, os, sys
out, roots = sys.argv[1], sys.argv[2:]
def seed(data):
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
for root in roots:
    for d, _, files in os.walk(root):
        for name in files:
            if not name.endswith((".json", ".ndjson", ".jsonl")):
                continue
            raw = open(os.path.join(d, name), "rb").read()
            if len(raw) < 1_000_000:
                seed(raw)
            records = []
            try:
                doc = json.loads(raw)
                if isinstance(doc, dict):
                    for k in ("Records", "records", "value", "Events", "QueryResultRows", "logEvents", "events", "items", "entries", "results"):
                        if isinstance(doc.get(k), list):
                            records += doc[k]
                    records.append(doc)
                elif isinstance(doc, list):
                    records += doc
            except ValueError:
                for line in raw.splitlines():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        pass
            for r in records[:200]:
                seed(json.dumps(r).encode())
            # A few inside a CloudWatch Logs subscription payload, as Firehose delivers them,
            # and as SIEMs export them (Splunk, Elasticsearch, HEC, CSV with flattened keys).
            for r in records[:10]:
                event = {"id": "1", "timestamp": 1, "message": json.dumps(r)}
                seed(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [event]}).encode())
                seed(json.dumps({"preview": False, "result": {"_raw": json.dumps(r)}}).encode())
                seed(json.dumps({"hits": {"hits": [{"_index": "i", "_id": "1", "_source": r}]}}).encode())
                seed(json.dumps({"sourcetype": "s", "event": r}).encode())
                if isinstance(r, dict):
                    flat = {}
                    def walk(prefix, v):
                        if isinstance(v, dict) and v:
                            for k, x in v.items():
                                walk(f"{prefix}.{k}" if prefix else k, x)
                        else:
                            flat[prefix] = v if isinstance(v, str) else json.dumps(v)
                    walk("", r)
                    buf = io.StringIO()
                    w = csv.writer(buf)
                    w.writerow(flat.keys())
                    w.writerow(flat.values())
                    seed(buf.getvalue().encode())
PY
echo "==> $(ls "$SEEDS" | wc -l) seed inputs"
cd fuzz
cargo fuzz build --sanitizer none
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t"
  log="$(mktemp)"
  status=0
  cargo fuzz run --sanitizer none "$t" "corpus/$t" "$SEEDS" -- \
      -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  crashes="$(ls "artifacts/$t" 2>/dev/null | wc -l)"
  echo "fuzz: $t ${SECONDS_EACH}s runs=${runs:-?} corpus=$(ls "corpus/$t" | wc -l) crashes=$crashes exit=$status"
  if [ "$status" -ne 0 ]; then tail -40 "$log"; fi
  rm -f "$log"
done
