//! Two scans with changes in between: the diff names what was added, removed and changed
//! (identities, keys, grants, trust); `--as-of` shows the state between the scans; the
//! current view shows the latest.

use nhiscope_engine::store::Snapshot;
use nhiscope_engine::time;
use nhiscope_engine::Table;

use crate::harness::{self, Moto};

#[test]
fn diff_and_as_of_across_two_scans() {
    let dir = harness::temp();
    let moto = Moto::start();
    moto.seed(dir.path(), &["--users", "15", "--roles", "10"]);
    moto.boto(
        dir.path(),
        "iam.create_user(UserName='temp-bot')\n\
         k=iam.create_access_key(UserName='temp-bot')['AccessKey']['AccessKeyId']\n\
         iam.create_user(UserName='rotating-bot')\n\
         old=iam.create_access_key(UserName='rotating-bot')['AccessKey']['AccessKeyId']\n\
         iam.create_role(RoleName='ci-role', AssumeRolePolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'Service':'codebuild.amazonaws.com'},'Action':'sts:AssumeRole'}]}))\n\
         open('ids.json','w').write(json.dumps({'temp_key':k,'old_key':old}))",
    );
    let store_path = dir.path().join("s.duckdb");
    harness::scan(&moto, &store_path, &[]);
    moto.boto(
        dir.path(),
        "ids=json.load(open('ids.json'))\n\
         iam.delete_access_key(UserName='temp-bot', AccessKeyId=ids['temp_key'])\n\
         iam.delete_user(UserName='temp-bot')\n\
         new=iam.create_access_key(UserName='rotating-bot')['AccessKey']['AccessKeyId']\n\
         iam.delete_access_key(UserName='rotating-bot', AccessKeyId=ids['old_key'])\n\
         iam.create_user(UserName='new-bot')\n\
         iam.update_assume_role_policy(RoleName='ci-role', PolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'arn:aws:iam::777788889999:root'},'Action':'sts:AssumeRole'}]}))\n\
         iam.attach_role_policy(RoleName='ci-role', PolicyArn='arn:aws:iam::aws:policy/AdministratorAccess')\n\
         ids['new_key']=new\n\
         open('ids.json','w').write(json.dumps(ids))",
    );
    let ids: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("ids.json")).expect("ids"))
            .expect("json");
    harness::scan(&moto, &store_path, &[]);

    let store = harness::open(&store_path);
    let scans = store.scans(None, 10).expect("scans");
    assert_eq!(scans.len(), 2);
    let (first, second) = (&scans[1], &scans[0]);
    let diff = store.diff(first.scan_id, second.scan_id).expect("diff");
    let keys = |t: Table, c: &str| -> Vec<String> {
        diff.of(t, c).iter().map(|e| e.key.clone()).collect()
    };
    let acct = first.tenant.clone();
    assert_eq!(
        keys(Table::Identities, "removed"),
        vec![format!("arn:aws:iam::{acct}:user/temp-bot")]
    );
    assert_eq!(
        keys(Table::Identities, "added"),
        vec![format!("arn:aws:iam::{acct}:user/new-bot")]
    );
    let removed_keys = keys(Table::Credentials, "removed");
    assert!(
        removed_keys.contains(&ids["temp_key"].as_str().expect("k").to_string()),
        "{removed_keys:?}"
    );
    assert!(
        removed_keys.contains(&ids["old_key"].as_str().expect("k").to_string()),
        "{removed_keys:?}"
    );
    assert_eq!(
        keys(Table::Credentials, "added"),
        vec![ids["new_key"].as_str().expect("k").to_string()]
    );
    let role = format!("arn:aws:iam::{acct}:role/ci-role");
    assert!(keys(Table::Trusts, "removed")
        .iter()
        .any(|k| k.starts_with(&role) && k.contains("codebuild")));
    assert!(keys(Table::Trusts, "added")
        .iter()
        .any(|k| k.starts_with(&role) && k.contains("777788889999")));
    assert!(keys(Table::Grants, "added")
        .iter()
        .any(|k| k.starts_with(&role) && k.contains("AdministratorAccess")));
    assert!(
        diff.of(Table::Identities, "changed").is_empty(),
        "{:?}",
        diff.of(Table::Identities, "changed")
    );

    // As of the end of the first scan, temp-bot and the old key exist; now they don't.
    let between = Snapshot::AsOf(first.finished_at.expect("finished"));
    let names = |s: Snapshot| -> Vec<String> {
        harness::rows(&store, Table::Identities, s)
            .iter()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect()
    };
    assert!(names(between).contains(&"temp-bot".to_string()));
    assert!(!names(between).contains(&"new-bot".to_string()));
    assert!(!names(Snapshot::Current).contains(&"temp-bot".to_string()));
    assert!(names(Snapshot::Current).contains(&"new-bot".to_string()));
    let before_any = Snapshot::AsOf(first.started_at - 1);
    assert!(
        names(before_any).is_empty(),
        "nothing existed before the first scan"
    );

    drop(store);
    // The same through the CLI.
    let as_of = time::format(first.finished_at.expect("finished") + 1_000_000);
    let out = harness::nhiscope(
        &store_path,
        &[
            "inventory",
            "--as-of",
            &as_of,
            "--search",
            "temp-bot",
            "--format",
            "json",
        ],
    );
    let rows: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        rows.as_array().map(Vec::len),
        Some(1),
        "{}",
        harness::stdout(&out)
    );
    let out = harness::nhiscope(
        &store_path,
        &[
            "scans",
            "diff",
            &first.scan_id.to_string(),
            &second.scan_id.to_string(),
        ],
    );
    let text = harness::stdout(&out);
    assert!(
        text.contains("removed  identities") && text.contains("temp-bot"),
        "{text}"
    );
    assert!(
        text.contains("added    credentials") && text.contains(ids["new_key"].as_str().expect("k")),
        "{text}"
    );
}
