"""Benchmark: `nhiscope scan aws` against a moto estate of N users x 2 keys and N roles.

    python bench/aws_scan.py --nhiscope target/release/nhiscope [--users 2000] [--roles 2000]

Starts the moto wrapper (tests/moto/server.py), seeds it (tests/moto/seed.py --profile bench),
then runs the scan and prints wall time, API calls (counted by the server, retries included)
per identity, and the scanner's peak RSS. Prints figures; asserts nothing.
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parent.parent


def control(endpoint, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(endpoint + path, data=data, method="POST" if data else "GET")
    return json.loads(urllib.request.urlopen(req).read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nhiscope", required=True)
    ap.add_argument("--users", type=int, default=2000)
    ap.add_argument("--roles", type=int, default=2000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--max-attempts", type=int, default=6)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--profile", choices=["realistic", "bench"], default="bench",
                    help="seed profile: `bench` (uniform users with keys, lambda roles) or `realistic` "
                         "(policies with admin, escalation building blocks, trusts of every kind)")
    ap.add_argument("--cloudsplaining", help="path to a cloudsplaining executable: also download "
                                             "GetAccountAuthorizationDetails from the same estate and time "
                                             "`cloudsplaining scan` over it, next to `nhiscope evaluate`")
    ap.add_argument("--keep", help="copy Cloudsplaining's input and results into this directory")
    ap.add_argument("--prowler", help="path to a prowler executable: also scan the same estate with "
                                      "`prowler aws --service iam` (AWS_ENDPOINT_URL pointed at moto)")
    a = ap.parse_args()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests/moto/server.py"), "0"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        port = server.stdout.readline().split()[1]
        endpoint = f"http://127.0.0.1:{port}"
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.time()
            subprocess.run([sys.executable, str(ROOT / "tests/moto/seed.py"), "--endpoint", endpoint, "--manifest",
                            f"{tmp}/m.json", "--profile", a.profile, "--users", str(a.users), "--roles", str(a.roles)],
                           check=True, stdout=subprocess.DEVNULL)
            print(f"seeded {a.users} users x 2 keys, {a.roles} roles in {time.time() - t0:.1f} s")
            env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent",
                       AWS_EC2_METADATA_DISABLED="true")
            identities = a.users + a.roles
            for run in range(a.runs):
                control(endpoint, "/_nhiscope/calls/reset", {})
                store = f"{tmp}/bench-{run}.duckdb"
                start = time.time()
                proc = subprocess.Popen([a.nhiscope, "-q", "--store", store, "scan", "aws", "--endpoint-url", endpoint,
                                         "--concurrency", str(a.concurrency), "--max-attempts", str(a.max_attempts)], env=env, stdout=subprocess.PIPE, text=True)
                _, status, usage = os.wait4(proc.pid, 0)
                wall = time.time() - start
                out = proc.stdout.read()
                calls = control(endpoint, "/_nhiscope/calls")
                print(f"run {run + 1}: wall {wall:.2f} s, exit {os.waitstatus_to_exitcode(status)}, "
                      f"API calls {calls['total']} ({calls['total'] / identities:.3f} per identity), "
                      f"peak RSS {usage.ru_maxrss / 1024:.1f} MiB")
                if run == 0:
                    print("  calls by action: " + ", ".join(f"{k} {v}" for k, v in sorted(calls["calls"].items())))
                    print("  " + out.strip().replace("\n", "\n  "))
                    show = subprocess.run([a.nhiscope, "--store", store, "scans", "show", "1"], capture_output=True, text=True)
                    print("  " + show.stdout.strip().replace("\n", "\n  "))
            if a.cloudsplaining:
                cloudsplaining(a, endpoint, tmp, f"{tmp}/bench-0.duckdb", env)
            if a.prowler:
                control(endpoint, "/_nhiscope/calls/reset", {})
                penv = dict(env, AWS_ENDPOINT_URL=endpoint, AWS_DEFAULT_REGION="us-east-1")
                start = time.time()
                proc = subprocess.Popen([a.prowler, "aws", "--service", "iam", "-f", "us-east-1", "--no-banner",
                                         "--output-directory", f"{tmp}/prowler"], env=penv,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                _, status, usage = os.wait4(proc.pid, 0)
                wall = time.time() - start
                calls = control(endpoint, "/_nhiscope/calls")
                print(f"prowler: wall {wall:.2f} s, exit {os.waitstatus_to_exitcode(status)}, "
                      f"API calls {calls['total']} ({calls['total'] / identities:.3f} per identity), "
                      f"peak RSS {usage.ru_maxrss / 1024:.1f} MiB")
    finally:
        server.kill()


def cloudsplaining(a, endpoint, tmp, store, env):
    """Policy analysis side by side: `nhiscope evaluate` over the scanned store (the IAM
    policy functions and the whole rule pack) and `cloudsplaining scan` over the account's
    GetAccountAuthorizationDetails (downloaded first; the download is not timed)."""
    import boto3

    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    merged = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for page in iam.get_paginator("get_account_authorization_details").paginate():
        for key in merged:
            merged[key].extend(page.get(key, []))
    # moto's Policies entries lack PolicyName and PolicyId (real IAM always sends them);
    # Cloudsplaining needs both.
    for policy in merged["Policies"]:
        policy.setdefault("PolicyName", policy["Arn"].rsplit("/", 1)[-1])
        policy.setdefault("PolicyId", "ANPA" + format(abs(hash(policy["Arn"])), "X")[:17])
    gaad = f"{tmp}/gaad.json"
    with open(gaad, "w") as f:
        json.dump(merged, f, default=str)
    start = time.time()
    proc = subprocess.Popen([a.nhiscope, "-q", "--store", store, "evaluate", "--format", "json"], env=env,
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - start
    by_rule = {}
    for f in json.loads(out or "[]"):
        by_rule[f["rule_id"]] = by_rule.get(f["rule_id"], 0) + 1
    print(f"nhiscope evaluate (22 rules incl. the IAM policy analysis): wall {wall:.2f} s, "
          f"peak RSS {usage.ru_maxrss / 1024:.1f} MiB, {sum(by_rule.values())} findings; admin on an NHI "
          f"(NHI5-AWS-001) {by_rule.get('NHI5-AWS-001', 0)}, privilege escalation (NHI5-AWS-002) "
          f"{by_rule.get('NHI5-AWS-002', 0)}, sensitive-service wildcards (NHI5-AWS-004) "
          f"{by_rule.get('NHI5-AWS-004', 0)}")
    os.makedirs(f"{tmp}/cs", exist_ok=True)
    start = time.time()
    proc = subprocess.Popen([a.cloudsplaining, "scan", "--input-file", gaad, "--output", f"{tmp}/cs",
                             "--skip-open-report"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - start
    if status:
        print("cloudsplaining failed: " + err[-2000:])
    summary = cloudsplaining_counts(pathlib.Path(f"{tmp}/cs"))
    if a.keep:
        import shutil
        shutil.copytree(f"{tmp}/cs", a.keep, dirs_exist_ok=True)
        shutil.copy(gaad, a.keep)
    print(f"cloudsplaining scan: wall {wall:.2f} s, exit {os.waitstatus_to_exitcode(status)}, "
          f"peak RSS {usage.ru_maxrss / 1024:.1f} MiB, {summary}")


def cloudsplaining_counts(out_dir):
    """What Cloudsplaining flags, from its results JSON: policies with findings by type, and
    users/roles one of whose own policies has privilege-escalation findings."""
    counts, principals = {}, 0
    for path in out_dir.glob("iam-results-*.json"):
        data = json.loads(path.read_text())
        flagged = set()
        for group in ("inline_policies", "customer_managed_policies", "aws_managed_policies"):
            for policy_id, policy in data.get(group, {}).items():
                for kind in ("PrivilegeEscalation", "ResourceExposure", "DataExfiltration", "ServiceWildcard",
                             "CredentialsExposure", "InfrastructureModification"):
                    if (policy.get(kind) or {}).get("findings"):
                        counts[kind] = counts.get(kind, 0) + 1
                        if kind == "PrivilegeEscalation":
                            flagged.add(policy_id)
        for kind in ("users", "roles"):
            for principal in data.get(kind, {}).values():
                own = set()
                for group in ("inline_policies", "customer_managed_policies", "aws_managed_policies"):
                    own |= set((principal.get(group) or {}).keys())
                principals += bool(own & flagged)
    return ("policies flagged: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + f"; users/roles with a privilege-escalation policy of their own: {principals}")


if __name__ == "__main__":
    main()
