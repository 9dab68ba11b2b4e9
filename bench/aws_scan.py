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
                            f"{tmp}/m.json", "--profile", "bench", "--users", str(a.users), "--roles", str(a.roles)],
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


if __name__ == "__main__":
    main()
