//! Several accounts in one run: a named profile and a role assumed into a member account
//! (moto maps assumed-role credentials to the target account), configured in `nhiscope.toml`.
//! Each account is its own source and snapshot.

use nhiscope_engine::store::Snapshot;
use nhiscope_engine::Table;

use crate::harness::{self, Moto};

#[test]
fn a_profile_and_an_assumed_member_account_are_separate_snapshots() {
    let dir = harness::temp();
    let moto = Moto::start();
    let m = moto.seed(dir.path(), &["--users", "6", "--roles", "4"]);
    moto.boto(
        dir.path(),
        "c=sts.assume_role(RoleArn='arn:aws:iam::222222222222:role/seed',RoleSessionName='seed')['Credentials']\n\
         kw2=dict(kw,aws_access_key_id=c['AccessKeyId'],aws_secret_access_key=c['SecretAccessKey'],aws_session_token=c['SessionToken'])\n\
         m=boto3.client('iam',**kw2)\n\
         m.create_user(UserName='member-bot')\n\
         m.create_access_key(UserName='member-bot')\n\
         m.create_role(RoleName='NhiscopeAudit',AssumeRolePolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::123456789012:root'},'Action':'sts:AssumeRole','Condition':{'StringEquals':{'sts:ExternalId':'x-1'}}}]}))\n\
         m.create_role(RoleName='OrgDeploy',AssumeRolePolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::123456789012:role/ci'},'Action':'sts:AssumeRole'}]}))\n\
         m.create_role(RoleName='VendorAudit',AssumeRolePolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::210987654321:root'},'Action':'sts:AssumeRole'}]}))",
    );
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        "[audit]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .expect("write");
    let config = dir.path().join("nhiscope.toml");
    std::fs::write(
        &config,
        format!(
            "version = 1\n[aws]\nendpoint_url = \"{}\"\nprofiles = [\"audit\"]\ninitial_backoff_ms = 20\nmax_attempts = 3\n\
             [[aws.assume_roles]]\nrole_arn = \"arn:aws:iam::222222222222:role/NhiscopeAudit\"\nexternal_id = \"x-1\"\nsource_profile = \"audit\"\n",
            moto.endpoint
        ),
    )
    .expect("write");
    let store_path = dir.path().join("s.duckdb");
    let out = harness::nhiscope_with(
        &store_path,
        &["--config", config.to_str().expect("utf8"), "scan", "aws"],
        &[("AWS_SHARED_CREDENTIALS_FILE", creds.to_str().expect("utf8"))],
    );
    let text = harness::stdout(&out);
    assert!(
        text.contains("aws:123456789012 (profile:audit)"),
        "{text}{}",
        harness::stderr(&out)
    );
    assert!(
        text.contains("aws:222222222222 (role:arn:aws:iam::222222222222:role/NhiscopeAudit)"),
        "{text}"
    );

    let store = harness::open(&store_path);
    let mut sources: Vec<String> = store
        .scans(None, 10)
        .expect("scans")
        .into_iter()
        .map(|s| s.source)
        .collect();
    sources.sort();
    assert_eq!(sources, vec!["aws:123456789012", "aws:222222222222"]);
    let identities = harness::rows(&store, Table::Identities, Snapshot::Current);
    let member: Vec<&str> = identities
        .iter()
        .filter(|i| i["tenant"] == "222222222222")
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert!(
        member.contains(&"member-bot") && member.contains(&"NhiscopeAudit"),
        "{member:?}"
    );
    let main = identities
        .iter()
        .filter(|i| i["tenant"] == "123456789012")
        .count();
    let groups = m["groups"].as_array().map_or(0, Vec::len);
    assert_eq!(main, 6 + 4 + groups);
    let keys = harness::rows(&store, Table::Credentials, Snapshot::Current);
    assert!(keys
        .iter()
        .any(|k| k["tenant"] == "222222222222" && k["kind"] == "access_key"));
    drop(store);

    // A member account's role trusting the management account without an external id is
    // trust within the estate (both accounts are scanned); one trusting a vendor is not. With
    // the organisation configured, only the vendor is outside it.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config).expect("read")
            + "[rules.params.\"NHI3-AWS-002\"]\norganization_accounts = [\"123456789012\"]\n",
    )
    .expect("write");
    let out = harness::nhiscope(
        &store_path,
        &[
            "--config",
            config.to_str().expect("utf8"),
            "evaluate",
            "--format",
            "json",
        ],
    );
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json findings");
    let flagged = |rule: &str| -> Vec<String> {
        let mut out: Vec<String> = findings
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["rule_id"] == rule && f["tenant"] == "222222222222")
            .filter_map(|f| f["resource"].as_str().map(str::to_string))
            .collect();
        out.sort();
        out
    };
    let vendor = vec!["arn:aws:iam::222222222222:role/VendorAudit".to_string()];
    assert_eq!(flagged("NHI3-AWS-001"), vendor, "{}", harness::stderr(&out));
    assert_eq!(flagged("NHI3-AWS-002"), vendor);
}
