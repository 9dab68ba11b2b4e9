//! The IAM credential report: CSV (or base64 of it, as `aws iam get-credential-report`
//! prints), parsed by header name so every layout works (the early 16-column one without
//! last-used columns as much as today's 22). Sentinels `N/A`, `no_information`,
//! `not_supported`, empty, and Go's zero time all read as "unknown".

use std::collections::HashMap;

use nhiscope_engine::time::{self, Micros};

/// One access key slot (1 or 2) of a report row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeySlot {
    pub active: Option<bool>,
    pub last_rotated: Option<Micros>,
    pub last_used_date: Option<Micros>,
    pub last_used_region: Option<String>,
    pub last_used_service: Option<String>,
}

/// One row of the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportRow {
    /// The `user` column; `<root_account>` for the root user.
    pub user: String,
    pub arn: String,
    pub user_creation_time: Option<Micros>,
    /// `None` when `not_supported` (the root user) or absent.
    pub password_enabled: Option<bool>,
    pub password_last_used: Option<Micros>,
    pub password_last_changed: Option<Micros>,
    pub password_next_rotation: Option<Micros>,
    pub mfa_active: Option<bool>,
    pub keys: [KeySlot; 2],
    pub certs_active: [Option<bool>; 2],
    pub certs_last_rotated: [Option<Micros>; 2],
    /// 1-based line number in the CSV (0 when not from CSV).
    pub line: usize,
}

impl ReportRow {
    pub fn is_root(&self) -> bool {
        self.user == "<root_account>"
    }
}

/// A parsed report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CredentialReport {
    pub generated_at: Option<Micros>,
    /// True when this report was generated for this scan (not a cached one up to 4 hours old),
    /// so a user it shows without keys really has none.
    pub fresh: bool,
    pub rows: Vec<ReportRow>,
    /// Rows that could not be read: (line, reason). The rest of the report is still used.
    pub errors: Vec<(usize, String)>,
}

impl CredentialReport {
    /// The row of a user by ARN.
    pub fn by_arn(&self) -> HashMap<&str, &ReportRow> {
        self.rows.iter().map(|r| (r.arn.as_str(), r)).collect()
    }
}

/// Normalises a header or key name: lowercase, without `_`, `-` or spaces, so
/// `access_key_1_last_rotated` and `AccessKey1LastRotated` are the same field.
pub fn normalise_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn unknown(v: &str) -> bool {
    let v = v.trim();
    v.is_empty()
        || v.eq_ignore_ascii_case("N/A")
        || v.eq_ignore_ascii_case("no_information")
        || v.eq_ignore_ascii_case("not_supported")
        || v.starts_with("0001-01-01")
}

fn text(v: Option<&str>) -> Option<String> {
    v.filter(|v| !unknown(v)).map(|v| v.trim().to_string())
}

fn date(v: Option<&str>) -> Option<Micros> {
    v.filter(|v| !unknown(v)).and_then(time::parse)
}

fn flag(v: Option<&str>) -> Option<bool> {
    match v.map(|v| v.trim().to_ascii_lowercase()) {
        Some(v) if v == "true" => Some(true),
        Some(v) if v == "false" => Some(false),
        _ => None,
    }
}

/// Builds a row from (normalised name → value) pairs: the one place that knows the fields.
pub fn row_from_fields(fields: &HashMap<String, String>, line: usize) -> Result<ReportRow, String> {
    let get = |name: &str| fields.get(name).map(String::as_str);
    let user = get("user")
        .or_else(|| get("username"))
        .filter(|v| !v.trim().is_empty())
        .ok_or("missing field `user`")?
        .trim()
        .to_string();
    let arn = get("arn")
        .filter(|v| !v.trim().is_empty())
        .ok_or("missing field `arn`")?
        .trim()
        .to_string();
    let key = |n: u8| KeySlot {
        active: flag(get(&format!("accesskey{n}active"))),
        last_rotated: date(get(&format!("accesskey{n}lastrotated"))),
        last_used_date: date(get(&format!("accesskey{n}lastuseddate"))),
        last_used_region: text(get(&format!("accesskey{n}lastusedregion"))),
        last_used_service: text(get(&format!("accesskey{n}lastusedservice"))),
    };
    Ok(ReportRow {
        user,
        arn,
        user_creation_time: date(get("usercreationtime")),
        password_enabled: flag(get("passwordenabled")),
        password_last_used: date(get("passwordlastused")),
        password_last_changed: date(get("passwordlastchanged")),
        password_next_rotation: date(get("passwordnextrotation")),
        mfa_active: flag(get("mfaactive")),
        keys: [key(1), key(2)],
        certs_active: [flag(get("cert1active")), flag(get("cert2active"))],
        certs_last_rotated: [date(get("cert1lastrotated")), date(get("cert2lastrotated"))],
        line,
    })
}

/// Parses report content: CSV bytes, or base64 of them.
pub fn parse(content: &[u8], generated_at: Option<Micros>) -> Result<CredentialReport, String> {
    let trimmed: Vec<u8> = content
        .iter()
        .copied()
        .skip_while(|b| b.is_ascii_whitespace())
        .collect();
    let csv_bytes = if looks_like_csv(&trimmed) {
        trimmed
    } else {
        let compact: String = String::from_utf8_lossy(&trimmed)
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let decoded = aws_smithy_types::base64::decode(&compact)
            .map_err(|e| format!("credential report is neither CSV nor base64: {e}"))?;
        if !looks_like_csv(&decoded) {
            return Err("credential report does not start with a `user` header".into());
        }
        decoded
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_bytes.as_slice());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| format!("credential report header: {e}"))?
        .iter()
        .map(normalise_name)
        .collect();
    let mut report = CredentialReport {
        generated_at,
        ..Default::default()
    };
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                report.errors.push((line, e.to_string()));
                continue;
            }
        };
        let fields: HashMap<String, String> = headers
            .iter()
            .cloned()
            .zip(record.iter().map(str::to_string))
            .collect();
        match row_from_fields(&fields, line) {
            Ok(row) => report.rows.push(row),
            Err(e) => report.errors.push((line, e)),
        }
    }
    Ok(report)
}

fn looks_like_csv(bytes: &[u8]) -> bool {
    bytes.len() >= 5 && bytes[..5].eq_ignore_ascii_case(b"user,")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2019-01-01T00:00:00+00:00,not_supported,2024-05-01T10:00:00+00:00,not_supported,not_supported,true,true,2020-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
ci-deployer,arn:aws:iam::111122223333:user/ci-deployer,2021-03-04T05:06:07+00:00,false,N/A,N/A,N/A,false,true,2021-03-04T05:06:08+00:00,2024-06-01T12:00:00+00:00,eu-west-1,s3,true,2023-01-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2021-03-04T05:06:07+00:00,true,no_information,2022-01-01T00:00:00+00:00,N/A,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,true,2022-02-02T00:00:00+00:00,false,N/A
";

    #[test]
    fn current_layout_with_sentinels() {
        let r = parse(CURRENT.as_bytes(), None).expect("parse");
        assert!(r.errors.is_empty(), "{:?}", r.errors);
        assert_eq!(r.rows.len(), 3);
        let root = &r.rows[0];
        assert!(root.is_root());
        assert_eq!(root.password_enabled, None);
        assert_eq!(root.keys[0].active, Some(true));
        assert_eq!(root.keys[0].last_used_date, None);
        let ci = &r.rows[1];
        assert_eq!(ci.keys[0].last_used_region.as_deref(), Some("eu-west-1"));
        assert_eq!(ci.keys[1].last_used_date, None);
        let alice = &r.rows[2];
        assert_eq!(alice.password_enabled, Some(true));
        assert_eq!(alice.password_last_used, None);
        assert_eq!(alice.certs_active[0], Some(true));
    }

    #[test]
    fn base64_content_reads_like_csv() {
        let encoded = aws_smithy_types::base64::encode(CURRENT.as_bytes());
        assert_eq!(
            parse(encoded.as_bytes(), None),
            parse(CURRENT.as_bytes(), None)
        );
    }

    #[test]
    fn old_sixteen_column_layout() {
        let old = "user,arn,user_creation_time,password_enabled,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_2_active,access_key_2_last_rotated,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated,password_last_used
svc,arn:aws:iam::111122223333:user/svc,2014-01-01T00:00:00+00:00,false,N/A,N/A,false,true,2014-01-02T00:00:00+00:00,false,N/A,false,N/A,false,N/A,N/A
";
        let r = parse(old.as_bytes(), None).expect("parse");
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.rows[0].keys[0].active, Some(true));
        assert_eq!(r.rows[0].keys[0].last_used_date, None);
        assert!(r.rows[0].keys[0].last_rotated.is_some());
    }

    #[test]
    fn a_bad_row_is_reported_and_the_rest_kept() {
        let bad =
            "user,arn,mfa_active\n,arn:aws:iam::1:user/x,true\nok,arn:aws:iam::1:user/ok,false\n";
        let r = parse(bad.as_bytes(), None).expect("parse");
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0].0, 2);
        assert!(r.errors[0].1.contains("user"));
    }
}
