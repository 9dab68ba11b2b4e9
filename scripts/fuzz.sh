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
# One seed per record (NDJSON lines, array elements, wrapper elements) and one per whole file;
# for a few records (SHAPE_RECORDS in all, SHAPE_PER_FILE per file) also the record in a
# node's container log split by the runtime, and in the CloudTrail console's Event history CSV;
# per file, its first records several to a line (as Firehose batches them), a garbage tail
# among them; for the Entra sign-ins (SIGN_IN_RECORDS) and audit events (AUDIT_RECORDS), the
# admin center's CSV downloads; for GitHub audit events (GITHUB_RECORDS), the CSV export; per
# file, its first records in syslog lines (JSON, and Ruby hashes as GitHub Enterprise Server
# writes them).
python3 - "$SEEDS" tests/fixtures/logs ../shared/data <<'PY'
import csv, hashlib, io, json, os, sys
out, roots = sys.argv[1], sys.argv[2:]
SHAPE_RECORDS, SHAPE_PER_FILE, SIGN_IN_RECORDS, AUDIT_RECORDS, GITHUB_RECORDS = 48, 2, 24, 24, 24
def seed(data):
    with open(os.path.join(out, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)

def cri_line(second, stream, tag, piece):
    """One CRI container log line (containerd / CRI-O under /var/log/containers/)."""
    return b"2026-05-02T12:00:%02d.%09dZ %s %s " % (second % 60, second, stream, tag) + piece + b"\n"

def cri_split(text, stream, size, first_second=0):
    """`text` (bytes) as the runtime writes a message it splits: `P` pieces of `size` bytes,
    then the `F` one (cuts may fall inside a UTF-8 character, as the runtime cuts bytes)."""
    pieces = [text[i:i + size] for i in range(0, len(text), size)] or [b""]
    return [cri_line(first_second + i, stream, b"P" if i < len(pieces) - 1 else b"F", p)
            for i, p in enumerate(pieces)]

def container_log_seeds(r):
    split = json.dumps(r, ensure_ascii=False).encode()
    whole = json.dumps(r).encode()
    start = cri_line(0, b"stderr", b"F", b"[info][main] starting")
    for size in (5, 64, len(split) // 2 + 1):
        lines = cri_split(split, b"stdout", size, 1)
        # A whole record on stderr between stdout's first and second pieces.
        lines[1:1] = [cri_line(1, b"stderr", b"F", whole)]
        seed(start + b"".join(lines) + whole + b"\n")
    # A run the input ends inside (its `F` line never came), with stderr's own run open too.
    cut = cri_split(split, b"stdout", 16, 2)[:-1]
    other = cri_split(whole, b"stderr", 32, 2)[:-1]
    seed(cri_line(1, b"stdout", b"F", whole) + b"".join(x for pair in zip(cut, other) for x in pair))

EVENT_HISTORY = ["Event ID", "Event time", "User name", "Event name", "Resource type",
                 "Resource name", "AWS access key", "AWS region", "Error code",
                 "Source IP address", "Event source", "Read-only", "Resources", "CloudTrail event"]

def event_history_seeds(r):
    """The record in the console's Event history CSV download (every cell quoted, CRLF):
    with its JSON in the `CloudTrail event` column, and without that column."""
    def text(v):
        return "" if v is None else v if isinstance(v, str) else json.dumps(v)
    who = r.get("userIdentity") if isinstance(r.get("userIdentity"), dict) else {}
    resources = [x for x in r.get("resources") or [] if isinstance(x, dict)] \
        if isinstance(r.get("resources"), list) else []
    first = resources[0] if resources else {}
    row = [text(r.get("eventID")), text(r.get("eventTime")), text(who.get("userName")),
           text(r.get("eventName")), text(first.get("type")), text(first.get("ARN")),
           text(who.get("accessKeyId")), text(r.get("awsRegion")), text(r.get("errorCode")),
           text(r.get("sourceIPAddress")), text(r.get("eventSource")),
           text(r.get("readOnly")).lower(),
           json.dumps([{"ResourceType": x.get("type"), "ResourceName": x.get("ARN")}
                       for x in resources]) if resources else "",
           json.dumps(r)]
    for width in (len(EVENT_HISTORY), len(EVENT_HISTORY) - 1):
        buf = io.StringIO()
        w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(EVENT_HISTORY[:width])
        w.writerow(row[:width])
        seed(buf.getvalue().encode())

def several_on_a_line_seeds(rs):
    """Records of one file several to a line: back to back, spaced, a wrapper among them, and
    a line with text after its records that is not JSON."""
    docs = [json.dumps(r) for r in rs[:3]]
    lines = ["".join(docs), " ".join(reversed(docs)),
             docs[0] + json.dumps({"Records": rs[:2]}) + " }oops", docs[-1]]
    seed(("\n".join(lines) + "\n").encode())
    seed("".join(d + "\t" for d in docs).encode())

SIGN_IN_USER = ["Date (UTC)", "Request ID", "User agent", "Correlation ID", "User ID", "User",
                "Username", "User type", "Cross tenant access type", "Incoming token type",
                "Authentication Protocol", "Unique token identifier", "Original transfer method",
                "Client credential type", "Token Protection - Sign In Session",
                "Token Protection - Sign In Session StatusCode", "Application",
                "Application ID ", "App owner tenant ID", "Resource", "Resource ID ",
                "Resource tenant ID", "Resource owner tenant ID", "Home tenant ID",
                "Home tenant name", "IP address", "Location", "Status",
                "Sign-in error code", "Failure reason", "Client app", "Device ID", "Browser",
                "Operating System", "Compliant", "Managed", "Join Type",
                "Multifactor authentication result", "Multifactor authentication auth method",
                "Multifactor authentication auth detail", "Authentication requirement",
                "Sign-in identifier", "Session ID", "IP address (seen by resource)",
                "Through Global Secure Access", "Global Secure Access IP address",
                "Autonomous system  number", "Flagged for review", "Token issuer type",
                "Incoming token type", "Token issuer name", "Latency", "Conditional Access",
                "Managed Identity type", "Associated Resource Id", "Federated Token Id",
                "Federated Token Issuer"]
SIGN_IN_SERVICE_PRINCIPAL = ["Date (UTC)", "Request ID", "Correlation ID", "Service principal ID",
                             "Service principal name", "Credential key ID", "Credential thumbprint",
                             "Application", "Application ID ", "App owner tenant ID", "Resource",
                             "Resource ID ", "Resource tenant ID", "Resource owner tenant ID",
                             "Home tenant ID", "Home tenant name", "IP address", "Location",
                             "Status", "Sign-in error code", "Failure reason",
                             "Conditional Access"]

def sign_in_download_seeds(r):
    """The record, when it is an Entra sign-in (Graph, Azure Monitor's `properties`, either in
    a test case's `event`), in the admin center's Sign-in logs CSV download (a byte order mark,
    CRLF): the user tabs' columns, the service principal tab's, and those with the managed
    identity columns. False when it is not a sign-in."""
    found = [b for v in (r, r.get("event")) if isinstance(v, dict)
             for b in (v, v.get("properties")) if isinstance(b, dict) and "createdDateTime" in b]
    if not found:
        return False
    b = found[0]
    def text(v):
        return "" if v is None else v if isinstance(v, str) else json.dumps(v)
    status = b.get("status") if isinstance(b.get("status"), dict) else {}
    where = b.get("location") if isinstance(b.get("location"), dict) else {}
    code = status.get("errorCode")
    cells = {"Date (UTC)": b.get("createdDateTime"), "Request ID": b.get("id"),
             "User agent": b.get("userAgent"), "Correlation ID": b.get("correlationId"),
             "User ID": b.get("userId"), "User": b.get("userDisplayName"),
             "Username": b.get("userPrincipalName"),
             "Client credential type": b.get("clientCredentialType"),
             "Application": b.get("appDisplayName"), "Application ID": b.get("appId"),
             "Resource": b.get("resourceDisplayName"), "Resource ID": b.get("resourceId"),
             "Resource tenant ID": b.get("resourceTenantId"),
             "Home tenant ID": b.get("homeTenantId"), "IP address": b.get("ipAddress"),
             "Location": ", ".join(text(where.get(k)) for k in ("city", "state", "countryOrRegion")),
             "Status": "" if code is None else "Success" if code in (0, "0") else "Failure",
             "Sign-in error code": code, "Failure reason": status.get("failureReason"),
             "Client app": b.get("clientAppUsed"),
             "Service principal ID": b.get("servicePrincipalId"),
             "Service principal name": b.get("servicePrincipalName"),
             "Credential key ID": b.get("servicePrincipalCredentialKeyId"),
             "Credential thumbprint": b.get("servicePrincipalCredentialThumbprint"),
             "Managed Identity type": b.get("managedIdentityType")}
    managed = SIGN_IN_SERVICE_PRINCIPAL + ["Managed Identity type", "Associated Resource Id"]
    for header in (SIGN_IN_USER, SIGN_IN_SERVICE_PRINCIPAL, managed):
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(header)
        w.writerow([text(cells.get(h.strip())) for h in header])
        seed(("\ufeff" + buf.getvalue()).encode())
    return True

AUDIT_DOWNLOAD = ["Date (UTC)", "CorrelationId", "Service", "Category", "Activity", "Result",
                  "ResultReason", "User Agent", "ActorType", "ActorDisplayName", "ActorObjectId",
                  "ActorUserPrincipalName", "IPAddress", "ActorHomeTenantId", "ActorHomeTenantName",
                  "ActorServicePrincipalId", "ActorServicePrincipalName"] + [
    f"Target{t}{part}" for t in range(1, 4)
    for part in ["Type", "DisplayName", "ObjectId", "UserPrincipalName"] + [
        f"ModifiedProperty{p}{x}" for p in range(1, 6) for x in ("Name", "OldValue", "NewValue")]
] + [f"AdditionalDetail{d}{x}" for d in range(1, 7) for x in ("Key", "Value")]

def audit_download_seeds(r):
    """The record, when it is an Entra audit event (Graph, Azure Monitor's `properties`, either
    in a test case's `event`), in the admin center's Audit logs CSV download (a byte order mark,
    every cell quoted, CRLF; targets and properties spread over columns), with and without the
    columns after the first target. False when it is not an audit event."""
    found = [b for v in (r, r.get("event")) if isinstance(v, dict)
             for b in (v, v.get("properties")) if isinstance(b, dict)
             and "activityDateTime" in b and "activityDisplayName" in b]
    if not found:
        return False
    b = found[0]
    def text(v):
        return "" if v is None else v if isinstance(v, str) else json.dumps(v)
    def obj(v):
        return v if isinstance(v, dict) else {}
    def items(v):
        return [x if isinstance(x, dict) else {} for x in v] if isinstance(v, list) else []
    by = obj(b.get("initiatedBy"))
    user, app = obj(by.get("user")), obj(by.get("app"))
    actor = user or app
    row = [b.get("activityDateTime"), b.get("correlationId"), b.get("loggedByService"),
           b.get("category"), b.get("activityDisplayName"), b.get("result"),
           b.get("resultReason"), "", "User" if user else "App" if app else "",
           actor.get("displayName"), user.get("id"), user.get("userPrincipalName"),
           user.get("ipAddress"), user.get("homeTenantId"), user.get("homeTenantName"),
           app.get("servicePrincipalId"), app.get("servicePrincipalName")]
    targets = items(b.get("targetResources"))
    for t in range(3):
        target = targets[t] if t < len(targets) else {}
        row += [target.get(k) for k in ("type", "displayName", "id", "userPrincipalName")]
        props = items(target.get("modifiedProperties"))
        for p in range(5):
            prop = props[p] if p < len(props) else {}
            row += [prop.get(k) for k in ("displayName", "oldValue", "newValue")]
    details = items(b.get("additionalDetails"))
    for d in range(6):
        detail = details[d] if d < len(details) else {}
        row += [detail.get("key"), detail.get("value")]
    for width in (len(AUDIT_DOWNLOAD), 17 + 19):
        buf = io.StringIO()
        w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        w.writerow(AUDIT_DOWNLOAD[:width])
        w.writerow([text(c) for c in row[:width]])
        seed(("\ufeff" + buf.getvalue()).encode())
    return True

def github_export_seeds(rs):
    """The file's GitHub audit events (a test case's `event` too) in the audit log's CSV
    export: one column per key, nested keys dotted, in first-seen order (numbers, booleans and
    arrays as JSON spells them); each event alone, then all together. Returns how many."""
    events = [e for r in rs for e in (r, r.get("event")) if isinstance(e, dict)
              and isinstance(e.get("action"), str)
              and any(k in e for k in ("actor", "org", "business", "_document_id",
                                        "programmatic_access_type", "@timestamp"))]
    def flat(prefix, v, out):
        if isinstance(v, dict) and v:
            for k, x in v.items():
                flat(f"{prefix}.{k}" if prefix else k, x, out)
        else:
            out[prefix] = "" if v is None else v if isinstance(v, str) else json.dumps(v)
        return out
    def export(es):
        rows = [flat("", e, {}) for e in es]
        header = list(dict.fromkeys(k for row in rows for k in row))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow([row.get(h, "") for h in header])
        seed(buf.getvalue().encode())
    events = events[:max(0, GITHUB_RECORDS - github_records)]
    for e in events:
        export([e])
    if len(events) > 1:
        export(events)
    return len(events)

def ruby(v):
    """`v` as Ruby's `inspect` prints it (symbol keys, `=>`, `nil`), as GitHub Enterprise
    Server writes its audit entries."""
    if isinstance(v, dict):
        return "{" + ", ".join(":%s=>%s" % (k, ruby(x)) if k.isidentifier()
                               else "%s=>%s" % (json.dumps(k), ruby(x))
                               for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(ruby(x) for x in v) + "]"
    return "nil" if v is None else json.dumps(v)

def syslog_seeds(rs):
    """Records in syslog lines, as forwarders write them: BSD and RFC 5424 headers with the
    record's JSON, and a BSD header with the record as a Ruby hash."""
    lines = []
    for i, r in enumerate(rs[:3]):
        lines.append(b"Oct %2d 01:42:%02d host github_audit: " % (i + 1, i) + ruby(r).encode())
        lines.append(b"<165>1 2026-01-05T07:01:02Z host app - - - " + json.dumps(r).encode())
        lines.append(b"2026-01-05T07:01:02+00:00 host tag: " + json.dumps(r).encode())
    seed(b"\n".join(lines) + b"\n")

shape_records = sign_in_records = audit_records = github_records = 0
for root in roots:
    for d, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
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
            # as SIEMs export them (Splunk, Elasticsearch, HEC, CSV with flattened keys) and in
            # a systemd journal entry.
            for r in records[:10]:
                event = {"id": "1", "timestamp": 1, "message": json.dumps(r)}
                seed(json.dumps({"messageType": "DATA_MESSAGE", "logEvents": [event]}).encode())
                seed(json.dumps({"preview": False, "result": {"_raw": json.dumps(r)}}).encode())
                seed(json.dumps({"hits": {"hits": [{"_index": "i", "_id": "1", "_source": r}]}}).encode())
                seed(json.dumps({"sourcetype": "s", "event": r}).encode())
                seed(json.dumps({"__CURSOR": "s=1", "SYSLOG_IDENTIFIER": "t", "MESSAGE": json.dumps(r)}).encode())
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
            dicts = [r for r in records if isinstance(r, dict)]
            if dicts:
                several_on_a_line_seeds(dicts)
                syslog_seeds(dicts)
            for r in dicts:
                if sign_in_records < SIGN_IN_RECORDS and sign_in_download_seeds(r):
                    sign_in_records += 1
                if audit_records < AUDIT_RECORDS and audit_download_seeds(r):
                    audit_records += 1
            github_records += github_export_seeds(dicts)
            for r in dicts[:SHAPE_PER_FILE]:
                if shape_records >= SHAPE_RECORDS:
                    break
                shape_records += 1
                container_log_seeds(r)
                event_history_seeds(r)
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
