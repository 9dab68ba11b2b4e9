//! Synthetic CloudTrail for the ingest benchmark (`nhiscope bench ingest`): records shaped like
//! real management and data events (IAM users with `AKIA` keys, assumed-role sessions with
//! `ASIA` keys and a session issuer, AWS services, errors, TLS details, request parameters),
//! about 1.3 KB each like the real thing, deterministic for a seed. Clearly synthetic: account
//! `100000000001`, key ids with a `SYNTH` marker.

use std::io::{self, Write};

use serde_json::{json, Value};

const ACCOUNT: &str = "100000000001";

const CALLS: &[(&str, &str, bool)] = &[
    ("s3.amazonaws.com", "GetObject", true),
    ("s3.amazonaws.com", "PutObject", false),
    ("sts.amazonaws.com", "AssumeRole", false),
    ("sts.amazonaws.com", "GetCallerIdentity", true),
    ("ec2.amazonaws.com", "DescribeInstances", true),
    ("kms.amazonaws.com", "Decrypt", true),
    ("dynamodb.amazonaws.com", "GetItem", true),
    ("lambda.amazonaws.com", "Invoke", false),
    ("iam.amazonaws.com", "ListRoles", true),
    ("secretsmanager.amazonaws.com", "GetSecretValue", true),
    ("logs.amazonaws.com", "PutLogEvents", false),
    ("sqs.amazonaws.com", "SendMessage", false),
];

const AGENTS: &[&str] = &[
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/s3#1.58.2",
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.1 md/arch#x86_64 lang/python#3.11.9",
    "Boto3/1.34.144 md/Botocore#1.34.144 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.4",
    "aws-sdk-java/2.26.25 Linux/5.10 OpenJDK_64-Bit_Server_VM/21.0.4+7-LTS Java/21.0.4",
    "terraform-provider-aws/5.60.0 (+https://registry.terraform.io) aws-sdk-go-v2/1.30.3",
];

const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "eu-central-1", "ap-southeast-2"];

/// One synthetic record, `i` of the run seeded with `seed`, at `start_secs` + i/100 s.
pub fn record(rng: &mut fastrand::Rng, i: u64, start_secs: i64) -> Value {
    let (source, name, read_only) = CALLS[rng.usize(..CALLS.len())];
    let region = REGIONS[rng.usize(..REGIONS.len())];
    let t = chrono::DateTime::from_timestamp(start_secs + (i / 100) as i64, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let workload = rng.u32(..5_000);
    let identity = match rng.u8(..10) {
        0..=3 => json!({
            "type": "IAMUser",
            "principalId": format!("AIDASYNTH{workload:011}"),
            "arn": format!("arn:aws:iam::{ACCOUNT}:user/svc-{workload}"),
            "accountId": ACCOUNT,
            "accessKeyId": format!("AKIASYNTH{workload:011}"),
            "userName": format!("svc-{workload}")
        }),
        4..=8 => json!({
            "type": "AssumedRole",
            "principalId": format!("AROASYNTH{workload:011}:session-{}", rng.u32(..1000)),
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/app-{workload}/session-{}", rng.u32(..1000)),
            "accountId": ACCOUNT,
            "accessKeyId": format!("ASIASYNTH{:011}", rng.u64(..100_000_000_000)),
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": format!("AROASYNTH{workload:011}"),
                    "arn": format!("arn:aws:iam::{ACCOUNT}:role/app-{workload}"),
                    "accountId": ACCOUNT,
                    "userName": format!("app-{workload}")
                },
                "attributes": {"creationDate": t, "mfaAuthenticated": "false"}
            }
        }),
        _ => json!({"type": "AWSService", "invokedBy": "lambda.amazonaws.com"}),
    };
    let ip = if rng.u8(..10) == 0 {
        "lambda.amazonaws.com".to_string()
    } else {
        format!("10.{}.{}.{}", workload % 256, rng.u8(..), rng.u8(1..255))
    };
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": identity,
        "eventTime": t,
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": AGENTS[rng.usize(..AGENTS.len())],
        "requestParameters": {"bucketName": format!("data-{}", workload % 97), "key": format!("obj/{}", rng.u32(..))},
        "responseElements": null,
        "requestID": format!("{:016X}{:016X}", rng.u64(..), i),
        "eventID": format!("{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}", rng.u32(..), rng.u16(..), rng.u16(..0xfff), rng.u16(..0xfff), i),
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": !source.starts_with("s3"),
        "recipientAccountId": ACCOUNT,
        "eventCategory": if source.starts_with("s3") { "Data" } else { "Management" },
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.split('.').next().unwrap_or("s3"))
        }
    });
    if rng.u8(..20) == 0 {
        r["errorCode"] = json!("AccessDenied");
        r["errorMessage"] = json!("User is not authorized to perform this operation");
    }
    if name == "AssumeRole" {
        r["responseElements"] = json!({"credentials": {
            "accessKeyId": format!("ASIASYNTH{:011}", rng.u64(..100_000_000_000)),
            "expiration": "Jan 1, 2027, 12:00:00 AM"
        }});
    }
    r
}

/// Writes `n` records as NDJSON; returns the bytes written.
pub fn write_ndjson(out: &mut dyn Write, n: u64, seed: u64, start_secs: i64) -> io::Result<u64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut bytes = 0u64;
    for i in 0..n {
        let line = record(&mut rng, i, start_secs).to_string();
        out.write_all(line.as_bytes())?;
        out.write_all(b"\n")?;
        bytes += line.len() as u64 + 1;
    }
    Ok(bytes)
}

/// Writes records `first..first + n` as one S3 delivery object (`{"Records":[...]}`).
pub fn write_s3_object(
    out: &mut dyn Write,
    first: u64,
    n: u64,
    seed: u64,
    start_secs: i64,
) -> io::Result<()> {
    let mut rng = fastrand::Rng::with_seed(seed ^ first);
    out.write_all(b"{\"Records\":[")?;
    for i in first..first + n {
        if i > first {
            out.write_all(b",")?;
        }
        out.write_all(record(&mut rng, i, start_secs).to_string().as_bytes())?;
    }
    out.write_all(b"]}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::normalise::parse_all;

    #[test]
    fn synthetic_records_parse_and_look_real() {
        let mut buf = Vec::new();
        let bytes = write_ndjson(&mut buf, 500, 7, 1_767_225_600).expect("write");
        assert_eq!(bytes as usize, buf.len());
        let per_record = bytes / 500;
        assert!(
            (800..2500).contains(&per_record),
            "{per_record} bytes per record"
        );
        let (events, rejected) =
            parse_all(Box::new(std::io::Cursor::new(buf)), "gen", None).expect("parse");
        assert!(rejected.is_empty(), "{rejected:?}");
        assert_eq!(events.len(), 500);
        assert!(events
            .iter()
            .any(|e| e.credential_kind.as_deref() == Some("session")));
        assert!(events.iter().any(|e| e.issued_credential_id.is_some()));
        let mut s3 = Vec::new();
        write_s3_object(&mut s3, 0, 50, 7, 1_767_225_600).expect("s3");
        let (events, rejected) =
            parse_all(Box::new(std::io::Cursor::new(s3)), "gen", None).expect("parse");
        assert!(rejected.is_empty());
        assert_eq!(events.len(), 50);
    }
}
