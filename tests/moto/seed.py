"""Seeds a moto server with a realistic AWS IAM estate and writes a manifest of everything
it created (the ground truth the tests compare the store against).

    python seed.py --endpoint http://127.0.0.1:PORT --manifest out.json [--profile realistic|bench]
                   [--users N] [--roles N] [--seed S]

Ages are real: the wrapper's clock (server.py) is moved back before each object is created,
so users, keys and roles have creation dates spread over years; keys are "used" by signing a
call with them, roles by assuming them and making one call with the session.
"""

import argparse
import datetime
import json
import random
import urllib.request

import boto3
from botocore.config import Config
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

CFG = Config(retries={"mode": "standard", "max_attempts": 10}, region_name="us-east-1")
GITHUB = "token.actions.githubusercontent.com"
APPS = ["payments", "checkout", "ledger", "search", "catalog", "billing", "reporting", "identity",
        "notify", "inventory", "shipping", "fraud", "scoring", "etl", "warehouse", "analytics"]
TEAMS = ["team-payments", "team-platform", "team-data", "team-growth", "secops"]
FIRST = ["alice", "bob", "carol", "dan", "erin", "farid", "grace", "hector", "ines", "jamal", "kim", "lena"]
LAST = ["smith", "jones", "nguyen", "ibrahim", "kowalski", "haddad", "lee", "alvarez", "moreau", "wright"]


class Seeder:
    def __init__(self, endpoint, seed):
        self.endpoint = endpoint
        self.rng = random.Random(seed)
        self.session = dict(aws_access_key_id="testing", aws_secret_access_key="testing")
        self.iam = boto3.client("iam", endpoint_url=endpoint, config=CFG, **self.session)
        self.sts = boto3.client("sts", endpoint_url=endpoint, config=CFG, **self.session)
        self.account = self.sts.get_caller_identity()["Account"]
        self.m = {"account": self.account, "users": [], "roles": [], "groups": [], "policies": [],
                  "oidc": [], "saml": [], "server_certs": [],
                  # Secret values the estate holds: the store must never contain any of them.
                  "secrets": ["Demo-Password-1!"]}
        self._rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def clock(self, days_ago):
        req = urllib.request.Request(self.endpoint + "/_nhiscope/clock", method="POST",
                                     data=json.dumps({"offset_days": days_ago}).encode())
        urllib.request.urlopen(req).read()

    def arn(self, kind, path, name):
        return f"arn:aws:iam::{self.account}:{kind}{path}{name}"

    def doc(self, statements):
        return json.dumps({"Version": "2012-10-17", "Statement": statements})

    def cert(self, cn):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
        now = datetime.datetime.now(datetime.timezone.utc)
        c = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
             .public_key(self._rsa.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(days=10))
             .not_valid_after(now + datetime.timedelta(days=30))
             .sign(self._rsa, hashes.SHA256()))
        return c.public_bytes(serialization.Encoding.PEM).decode()

    def ssh_public_key(self):
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
        return k.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()

    # ---- building blocks -------------------------------------------------------------------

    def policies(self):
        self.clock(900)
        specs = {
            "ci-deploy": [{"Sid": "Deploy", "Effect": "Allow", "Action": ["cloudformation:*", "s3:PutObject", "ecr:*"], "Resource": "*"},
                          {"Sid": "Pass", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}],
            "secrets-reader": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue", "kms:Decrypt"], "Resource": "*"}],
            "boundary-workloads": [{"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}],
        }
        out = {}
        for name, st in specs.items():
            p = self.iam.create_policy(PolicyName=name, Path="/nhi/", PolicyDocument=self.doc(st),
                                       Description=f"{name} policy", Tags=[{"Key": "owner", "Value": "secops"}])["Policy"]
            out[name] = p["Arn"]
            self.m["policies"].append({"name": name, "arn": p["Arn"]})
        # A second version becomes the default: the scanner must read the default version.
        self.iam.create_policy_version(PolicyArn=out["ci-deploy"], SetAsDefault=True, PolicyDocument=self.doc(
            [{"Sid": "DeployV2", "Effect": "Allow", "Action": ["cloudformation:*", "s3:PutObject"], "Resource": "*"}]))
        self.managed = out

    def groups(self):
        specs = [("admins", "arn:aws:iam::aws:policy/AdministratorAccess"),
                 ("developers", "arn:aws:iam::aws:policy/PowerUserAccess"),
                 ("ci-bots", self.managed["ci-deploy"]),
                 ("auditors", "arn:aws:iam::aws:policy/SecurityAudit"),
                 ("team-payments", "arn:aws:iam::aws:policy/ReadOnlyAccess")]
        for name, policy in specs:
            self.clock(self.rng.randint(800, 1500))
            g = self.iam.create_group(GroupName=name, Path="/")["Group"]
            self.iam.attach_group_policy(GroupName=name, PolicyArn=policy)
            inline = []
            if name == "ci-bots":
                self.iam.put_group_policy(GroupName=name, PolicyName="ci-artifacts", PolicyDocument=self.doc(
                    [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::acme-artifacts/*"}]))
                inline.append("ci-artifacts")
            self.m["groups"].append({"name": name, "arn": g["Arn"], "attached": [policy], "inline": inline})

    def use_key(self, key_id, secret):
        c = boto3.client("iam", endpoint_url=self.endpoint, config=CFG, aws_access_key_id=key_id, aws_secret_access_key=secret)
        c.list_account_aliases()

    def user(self, i, profile):
        human = profile == "realistic" and i % 5 == 4
        if human:
            name = f"{FIRST[i % len(FIRST)]}.{LAST[(i // len(FIRST)) % len(LAST)]}{i}"
            path = "/"
        else:
            prefix = ["svc", "ci", "deploy", "integration", "batch"][i % 5]
            name = f"{prefix}-{APPS[i % len(APPS)]}-{i:05d}"
            path = ["/machines/", "/service-accounts/", "/"][i % 3]
        age = self.rng.randint(30, 1500)
        self.clock(age)
        tags = {}
        if not human and self.rng.random() < 0.6:
            tags["owner"] = self.rng.choice(TEAMS)
        if self.rng.random() < 0.3:
            tags["env"] = self.rng.choice(["prod", "staging", "dev"])
        extra = {}
        boundary = None
        if profile == "realistic" and not human and self.rng.random() < 0.1:
            boundary = self.managed["boundary-workloads"]
            extra["PermissionsBoundary"] = boundary
        u = self.iam.create_user(UserName=name, Path=path, Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **extra)["User"]
        rec = {"name": name, "arn": u["Arn"], "path": path, "age_days": age, "tags": tags, "groups": [], "keys": [],
               "console": False, "mfa": [], "ssh_keys": [], "signing_certs": [], "inline": [], "attached": [], "boundary": boundary}
        if profile == "bench":
            n_keys = 2
        elif human:
            n_keys = 1 if self.rng.random() < 0.3 else 0
        else:
            n_keys = 2 if self.rng.random() < 0.2 else 1
        for _ in range(n_keys):
            key_age = self.rng.randint(0, age)
            self.clock(key_age)
            k = self.iam.create_access_key(UserName=name)["AccessKey"]
            self.m["secrets"].append(k["SecretAccessKey"])
            key = {"id": k["AccessKeyId"], "status": "active", "age_days": key_age, "used": False}
            if self.rng.random() < 0.15:
                self.iam.update_access_key(UserName=name, AccessKeyId=k["AccessKeyId"], Status="Inactive")
                key["status"] = "inactive"
            if profile == "realistic" and self.rng.random() < 0.6:
                self.clock(self.rng.randint(0, key_age))
                self.use_key(k["AccessKeyId"], k["SecretAccessKey"])
                key["used"] = True
            rec["keys"].append(key)
        if profile == "realistic":
            self.clock(self.rng.randint(0, age))
            if human or self.rng.random() < 0.05:
                self.iam.create_login_profile(UserName=name, Password="Demo-Password-1!")
                rec["console"] = True
            if human and self.rng.random() < 0.7:
                serial = self.iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
                self.iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
                rec["mfa"].append(serial)
            group = ("admins" if i % 25 == 4 else "developers") if human else ("ci-bots" if name.startswith(("ci-", "deploy-")) else None)
            if group:
                self.iam.add_user_to_group(GroupName=group, UserName=name)
                rec["groups"].append(group)
            if not human and "payments" in name:
                self.iam.add_user_to_group(GroupName="team-payments", UserName=name)
                rec["groups"].append("team-payments")
            if not human and self.rng.random() < 0.1:
                kid = self.iam.upload_ssh_public_key(UserName=name, SSHPublicKeyBody=self.ssh_public_key())["SSHPublicKey"]["SSHPublicKeyId"]
                if i % 7 == 3:
                    # A key its holder cannot use (no CodeCommit permission).
                    rec["ssh_keys_unusable"] = [kid]
                else:
                    self.iam.put_user_policy(UserName=name, PolicyName="codecommit-git", PolicyDocument=self.doc(
                        [{"Effect": "Allow", "Action": ["codecommit:GitPull", "codecommit:GitPush"], "Resource": f"arn:aws:codecommit:*:{self.account}:*"}]))
                    rec["inline"].append("codecommit-git")
                    rec["ssh_keys"].append(kid)
            if not human and self.rng.random() < 0.05:
                cid = self.iam.upload_signing_certificate(UserName=name, CertificateBody=self.cert(name))["Certificate"]["CertificateId"]
                rec["signing_certs"].append(cid)
            if self.rng.random() < 0.2:
                self.iam.put_user_policy(UserName=name, PolicyName="direct-access", PolicyDocument=self.doc(
                    [{"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": f"arn:aws:sqs:*:{self.account}:{name}-*"}]))
                rec["inline"].append("direct-access")
            if not human and self.rng.random() < 0.3:
                arn = "arn:aws:iam::aws:policy/AdministratorAccess" if self.rng.random() < 0.1 else self.managed["secrets-reader"]
                self.iam.attach_user_policy(UserName=name, PolicyArn=arn)
                rec["attached"].append(arn)
        if rec.get("ssh_keys_unusable") and (
                "arn:aws:iam::aws:policy/AdministratorAccess" in rec["attached"] or "team-payments" in rec["groups"]):
            # Admin or ReadOnlyAccess (which includes codecommit:GitPull) makes the key usable.
            rec["ssh_keys"] += rec.pop("ssh_keys_unusable")
        self.m["users"].append(rec)

    def trust(self, kind, j):
        gh = f"arn:aws:iam::{self.account}:oidc-provider/{GITHUB}"
        if kind == "lambda":
            return [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}], [("Service", "lambda.amazonaws.com")]
        if kind == "ec2":
            return [{"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": "sts:AssumeRole"}], [("Service", "ec2.amazonaws.com")]
        if kind in ("github", "github-wildcard", "github-nosub"):
            cond = {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"}}
            if kind == "github":
                cond["StringEquals"][f"{GITHUB}:sub"] = f"repo:acme/{APPS[j % len(APPS)]}:ref:refs/heads/main"
            elif kind == "github-wildcard":
                cond["StringLike"] = {f"{GITHUB}:sub": "repo:acme/*"}
            return [{"Effect": "Allow", "Principal": {"Federated": gh}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}], [("Federated", gh)]
        if kind == "cross-account":
            other = "arn:aws:iam::210987654321:root"
            st = {"Effect": "Allow", "Principal": {"AWS": [other, "444455556666"]}, "Action": "sts:AssumeRole"}
            if j % 2:
                st["Condition"] = {"StringEquals": {"sts:ExternalId": f"ext-{j}"}}
            return [st], [("AWS", other), ("AWS", "444455556666")]
        if kind == "anyone":
            return [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}], [("*", "*")]
        if kind in ("cognito", "cognito-any-pool"):
            # An identity pool's role as Amplify creates it (`aud` pins the pool), and one
            # that forgot the pool: any pool's identities, in any account.
            cond = {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}}
            if kind == "cognito":
                cond["StringEquals"] = {"cognito-identity.amazonaws.com:aud": f"us-east-1:{j:08d}-abcd-1234-abcd-123456789012"}
            return [{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                     "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}], [("Federated", "cognito-identity.amazonaws.com")]
        # same-account
        me = f"arn:aws:iam::{self.account}:root"
        return [{"Effect": "Allow", "Principal": {"AWS": me}, "Action": ["sts:AssumeRole", "sts:TagSession"]}], [("AWS", me)]

    def role(self, j, profile):
        kinds = ["lambda", "ec2", "github", "github-wildcard", "cross-account", "same-account", "lambda", "github-nosub", "ec2", "anyone"]
        kind = "lambda" if profile == "bench" else kinds[j % len(kinds)]
        if kind == "anyone" and j % 30 != 9:
            kind = "same-account"
        if kind == "same-account" and j % 30 in (5, 15):
            kind = "cognito" if j % 30 == 5 else "cognito-any-pool"
        name = f"{kind}-{APPS[j % len(APPS)]}-{j:05d}"
        path = "/service/" if kind in ("lambda", "ec2") else "/"
        age = self.rng.randint(5, 1200)
        self.clock(age)
        statements, principals = self.trust(kind, j)
        tags = {"owner": self.rng.choice(TEAMS)} if self.rng.random() < 0.5 else {}
        max_session = self.rng.choice([3600, 3600, 7200, 43200])
        r = self.iam.create_role(RoleName=name, Path=path, AssumeRolePolicyDocument=self.doc(statements),
                                 MaxSessionDuration=max_session, Description=f"{kind} role for {APPS[j % len(APPS)]}",
                                 Tags=[{"Key": k, "Value": v} for k, v in tags.items()])["Role"]
        rec = {"name": name, "arn": r["Arn"], "path": path, "kind": kind, "max_session": max_session, "tags": tags,
               "trust": [list(p) for p in principals], "instance_profiles": [], "inline": [], "attached": [], "used": False}
        if profile == "realistic":
            policy = self.managed["secrets-reader"] if kind in ("lambda", "ec2") else self.managed["ci-deploy"]
            if kind == "cross-account":
                policy = "arn:aws:iam::aws:policy/ReadOnlyAccess"
            self.iam.attach_role_policy(RoleName=name, PolicyArn=policy)
            rec["attached"].append(policy)
            if self.rng.random() < 0.3:
                self.iam.put_role_policy(RoleName=name, PolicyName="logs", PolicyDocument=self.doc(
                    [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]))
                rec["inline"].append("logs")
            if kind == "ec2":
                ip = self.iam.create_instance_profile(InstanceProfileName=name)["InstanceProfile"]
                self.iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
                rec["instance_profiles"].append(ip["Arn"])
            if kind == "same-account" and self.rng.random() < 0.5:
                self.clock(self.rng.randint(0, age))
                creds = self.sts.assume_role(RoleArn=r["Arn"], RoleSessionName="seed")["Credentials"]
                c = boto3.client("iam", endpoint_url=self.endpoint, config=CFG, aws_access_key_id=creds["AccessKeyId"],
                                 aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
                c.list_account_aliases()
                rec["used"] = True
        self.m["roles"].append(rec)

    def federation_and_certs(self):
        self.clock(600)
        p = self.iam.create_open_id_connect_provider(Url=f"https://{GITHUB}", ClientIDList=["sts.amazonaws.com"],
                                                     ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
        self.m["oidc"].append({"arn": p["OpenIDConnectProviderArn"], "url": GITHUB, "audiences": ["sts.amazonaws.com"],
                               "thumbprints": ["6938fd4d98bab03faadb97b34396831e3780aea1"]})
        meta = "<?xml version=\"1.0\"?><md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"http://www.okta.com/exk1\">" + ("<!-- pad -->" * 100) + "</md:EntityDescriptor>"
        s = self.iam.create_saml_provider(SAMLMetadataDocument=meta, Name="okta")
        self.m["saml"].append(s["SAMLProviderArn"])
        key_pem = self._rsa.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                          serialization.NoEncryption()).decode()
        self.m["secrets"].append(key_pem.splitlines()[1])
        self.iam.upload_server_certificate(ServerCertificateName="legacy-elb", CertificateBody=self.cert("legacy.example.com"),
                                           PrivateKey=key_pem, Path="/cloudfront/")
        self.m["server_certs"].append("legacy-elb")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--manifest", required=True)
    ap.add_argument("--profile", choices=["realistic", "bench"], default="realistic")
    ap.add_argument("--users", type=int, default=150)
    ap.add_argument("--roles", type=int, default=100)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    s = Seeder(a.endpoint, a.seed)
    s.policies()
    if a.profile == "realistic":
        s.groups()
        s.federation_and_certs()
    for i in range(a.users):
        s.user(i, a.profile)
    for j in range(a.roles):
        s.role(j, a.profile)
    s.clock(0)
    with open(a.manifest, "w") as f:
        json.dump(s.m, f, indent=1)
    print(f"seeded {len(s.m['users'])} users, {len(s.m['roles'])} roles into account {s.account}")


if __name__ == "__main__":
    main()
