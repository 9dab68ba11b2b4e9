//! CSV inputs: query results exported as CSV (Splunk with its `_raw` column, Sentinel's
//! `AWSCloudTrail` rows, Athena over a CloudTrail table), read as one record per row, the
//! header naming the keys; and the downloads of consoles, each row mapped back to the record
//! the API gives: the CloudTrail console's Event history download ([`super::event_history`]:
//! CloudTrail records), the Entra admin center's sign-in log download
//! ([`super::entra_download`]: Graph sign-ins) and audit log download
//! ([`super::entra_audit_download`]: Graph directory audits), GitHub's audit log export
//! ([`super::github_export`]: audit events). Cells are text; a cell holding JSON
//! (`requestParameters`) or Hive's text form of a struct or array (what Athena prints for
//! CloudTrail's `useridentity` and `resources` columns: `{type=IAMUser, arn=arn:aws:...,
//! sessioncontext={...}}`) becomes the object or array it spells, so the parsers read it as
//! they read the JSON record. Empty cells and `null` are absent. A row that cannot be read is
//! reported with its line; the rest of the input is still read.

use std::io::{self, BufRead, Read};

use serde_json::{Map, Value};

use super::reader::{RecordAt, RecordSink};
use super::{entra_audit_download, entra_download, event_history, github_export};

/// True when `line` (the first of an input that is not JSON) is a CSV header: three or more
/// column names, each short and made of the characters column names use, most without spaces
/// (all may have them in the exports of consoles, which are known by their own names:
/// [`event_history::is_header`], [`entra_download::is_header`],
/// [`entra_audit_download::is_header`], and parentheses too in the Entra admin center's,
/// `Date (UTC)`). Prose, licences and plain-text logs fail it, and are reported as not JSON
/// logs instead.
pub fn looks_like_header(line: &[u8]) -> bool {
    let Ok(line) = std::str::from_utf8(line) else {
        return false;
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.trim_end().as_bytes());
    let Some(Ok(header)) = reader.records().next() else {
        return false;
    };
    let names: Vec<String> = header.iter().map(column_name).collect();
    let spaced = names.iter().filter(|n| n.contains(' ')).count();
    let entra = entra_download::is_header(&names) || entra_audit_download::is_header(&names);
    let punctuation = if entra { "_.@-/: ()" } else { "_.@-/: " };
    names.len() >= 3
        && (spaced * 2 <= names.len() || event_history::is_header(&names) || entra)
        && names.iter().all(|name| {
            name.len() <= 80
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || "_@".contains(c))
                && !name.ends_with('.')
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || punctuation.contains(c))
        })
}

/// Reads every row of a CSV `input` (header first) into `sink`, each with its line.
pub fn read_csv(input: Box<dyn BufRead + Send>, sink: &mut dyn RecordSink) -> io::Result<()> {
    let input = CrlfAsLf {
        inner: input,
        pending_cr: false,
    };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(column_name).collect(),
        Err(e) => {
            sink.malformed(1, format!("unreadable CSV header: {e}"));
            return Ok(());
        }
    };
    let download = Download::of(&header);
    let mut row = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = row.position().map_or(line, |p| p.line());
                let record = match &download {
                    Some(Download::EventHistory(columns)) => columns.record(row.iter()),
                    Some(Download::EntraSignIns(columns)) => columns.record(row.iter()),
                    Some(Download::EntraAudits(columns)) => columns.record(row.iter()),
                    Some(Download::Github(columns)) => columns.record(row.iter()),
                    None => named_cells(&header, &row),
                };
                if let Some(record) = record {
                    sink.record(RecordAt { line, index: None }, record);
                }
            }
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => return Err(io::Error::other(e.to_string())),
                _ => {
                    let line = e.position().map_or(line, |p| p.line());
                    sink.malformed(line, format!("unreadable CSV row: {e}"));
                }
            },
        }
    }
}

/// The console download a header is, if any: its rows are mapped back to the API's records.
enum Download {
    EventHistory(event_history::Columns),
    EntraSignIns(entra_download::Columns),
    EntraAudits(entra_audit_download::Columns),
    Github(github_export::Columns),
}

impl Download {
    /// The download whose header `header` is, tried in this order (their headers do not
    /// overlap: each needs columns only it has).
    fn of(header: &[String]) -> Option<Download> {
        event_history::Columns::of(header)
            .map(Download::EventHistory)
            .or_else(|| entra_download::Columns::of(header).map(Download::EntraSignIns))
            .or_else(|| entra_audit_download::Columns::of(header).map(Download::EntraAudits))
            .or_else(|| github_export::Columns::of(header).map(Download::Github))
    }
}

/// Reads `inner` with each CRLF as a LF: the csv crate does not count the lines a CRLF ends
/// (BurntSushi/rust-csv#395: every row of an export written with CRLF, as Windows tools and
/// many consoles write them, would be reported on line 1). A lone CR is kept.
struct CrlfAsLf<R> {
    inner: R,
    /// The last byte read was a CR, not handed on yet: the next byte says whether it ends a line.
    pending_cr: bool,
}

impl<R: BufRead> Read for CrlfAsLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            let buf = self.inner.fill_buf()?;
            let mut n = 0;
            if std::mem::take(&mut self.pending_cr) && buf.first() != Some(&b'\n') {
                out[0] = b'\r';
                n = 1;
            }
            let mut used = 0;
            while used < buf.len() && n < out.len() {
                let b = buf[used];
                used += 1;
                if b == b'\r' {
                    match buf.get(used) {
                        Some(b'\n') => continue,
                        None => {
                            self.pending_cr = true;
                            break;
                        }
                        Some(_) => {}
                    }
                }
                out[n] = b;
                n += 1;
            }
            self.inner.consume(used);
            // Only a held-back CR was read: read on, so 0 still means the end.
            if n > 0 || (used == 0 && !self.pending_cr) {
                return Ok(n);
            }
        }
    }
}

/// One row as a record keyed by the header's names (`None` when every cell is empty).
fn named_cells(header: &[String], row: &csv::StringRecord) -> Option<Value> {
    let mut record = Map::new();
    for (name, text) in header.iter().zip(row.iter()) {
        if let Some(value) = cell(text) {
            record.insert(name.clone(), value);
        }
    }
    (!record.is_empty()).then_some(Value::Object(record))
}

/// A column name as a key: trimmed, without the unit or time zone some exports append
/// (Azure's `TimeGenerated [UTC]`).
fn column_name(name: &str) -> String {
    let name = name.trim();
    match name.rfind(" [") {
        Some(i) if name.ends_with(']') => name[..i].trim_end().to_string(),
        _ => name.to_string(),
    }
}

/// Where the column `name` of a console download goes in `columns` (names as the
/// download's module spells them: lower case, `-` and `_` read as spaces, runs of spaces as
/// one, so `Request ID`, `request_id` and `Request  ID ` are one column).
pub(super) fn console_column<F: Copy>(columns: &[(&str, F)], name: &str) -> Option<F> {
    let spaced = name.to_ascii_lowercase().replace(['-', '_'], " ");
    let name = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    columns.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// The cells of one row of a console download under a column its module maps (`fields`, by
/// position in the header), with their field; cells blank once trimmed are left out, the
/// others kept as they are.
pub(super) fn mapped_cells<'r, F: Copy>(
    fields: &[Option<F>],
    row: impl IntoIterator<Item = &'r str>,
) -> Vec<(F, &'r str)> {
    fields
        .iter()
        .zip(row)
        .filter_map(|(f, cell)| Some(((*f)?, cell)))
        .filter(|(_, cell)| !cell.trim().is_empty())
        .collect()
}

/// The value a cell spells: absent when empty or `null`, JSON or Hive text read into what it
/// holds, text otherwise.
fn cell(text: &str) -> Option<Value> {
    let t = text.trim();
    if t.is_empty() || t == "null" {
        return None;
    }
    if t.starts_with('{') || t.starts_with('[') {
        if let Ok(v) = serde_json::from_str::<Value>(t) {
            return Some(v);
        }
        if let Some(v) = hive(t) {
            return Some(v);
        }
    }
    Some(Value::from(text))
}

/// Hive's text form of a struct, map or array (`{a=1, b={c=x}}`, `[{a=1}, {a=2}]`), as Athena
/// prints complex columns; `None` when `text` is not one.
fn hive(text: &str) -> Option<Value> {
    let mut p = Hive {
        s: text.as_bytes(),
        at: 0,
    };
    let v = p.value()?;
    (p.at == p.s.len()).then_some(v)
}

struct Hive<'a> {
    s: &'a [u8],
    at: usize,
}

impl Hive<'_> {
    fn value(&mut self) -> Option<Value> {
        match self.s.get(self.at)? {
            b'{' => self.object(),
            b'[' => self.array(),
            _ => Some(self.scalar()),
        }
    }

    fn object(&mut self) -> Option<Value> {
        self.at += 1;
        let mut out = Map::new();
        if self.eat(b'}') {
            return Some(Value::Object(out));
        }
        loop {
            let start = self.at;
            while *self.s.get(self.at)? != b'=' {
                if matches!(self.s[self.at], b',' | b'{' | b'}' | b'[' | b']') {
                    return None;
                }
                self.at += 1;
            }
            let key = std::str::from_utf8(&self.s[start..self.at]).ok()?.trim();
            self.at += 1;
            let value = self.value()?;
            if !value.is_null() {
                out.insert(key.to_string(), value);
            }
            if self.eat(b'}') {
                return Some(Value::Object(out));
            }
            if !self.eat(b',') {
                return None;
            }
            self.skip_spaces();
        }
    }

    fn array(&mut self) -> Option<Value> {
        self.at += 1;
        let mut out = Vec::new();
        if self.eat(b']') {
            return Some(Value::Array(out));
        }
        loop {
            out.push(self.value()?);
            if self.eat(b']') {
                return Some(Value::Array(out));
            }
            if !self.eat(b',') {
                return None;
            }
            self.skip_spaces();
        }
    }

    /// Text up to the next `,`, `}` or `]` (Hive does not quote).
    fn scalar(&mut self) -> Value {
        let start = self.at;
        while self
            .s
            .get(self.at)
            .is_some_and(|b| !matches!(b, b',' | b'}' | b']'))
        {
            self.at += 1;
        }
        let text = String::from_utf8_lossy(&self.s[start..self.at]);
        match text.trim() {
            "" | "null" => Value::Null,
            t => Value::from(t),
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.s.get(self.at) == Some(&b);
        if hit {
            self.at += 1;
        }
        hit
    }

    fn skip_spaces(&mut self) {
        while self.s.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_are_told_from_prose_and_text_logs() {
        assert!(looks_like_header(b"_time,_raw,host,source,sourcetype\r\n"));
        assert!(looks_like_header(
            b"TenantId,SourceSystem,\"TimeGenerated [UTC]\",EventName\n"
        ));
        assert!(looks_like_header(b"eventversion,useridentity,eventtime\n"));
        // The CloudTrail console's export: every name spaced.
        assert!(looks_like_header(
            b"Event ID,Event time,User name,Event name,AWS access key,AWS region,Event source\r\n"
        ));
        // The Entra admin center's sign-in download: spaced, and parentheses.
        assert!(looks_like_header(
            b"Date (UTC),Request ID,Correlation ID,Service principal ID,Service principal name,Credential key ID,IP address (seen by resource),Sign-in error code\r\n"
        ));
        // The Entra admin center's audit log download: every name quoted, two spaced.
        assert!(looks_like_header(
            b"\"Date (UTC)\",\"CorrelationId\",\"Service\",\"Category\",\"Activity\",\"Result\",\"ResultReason\",\"User Agent\",\"ActorType\",\"ActorDisplayName\",\"Target1ObjectId\"\r\n"
        ));
        // GitHub's audit log export: the events' keys, dotted when nested.
        assert!(looks_like_header(
            b"@timestamp,_document_id,action,actor,actor_location.country_code,org,repo,created_at\n"
        ));
        for text in [
            "# Log fixtures\n",
            "Apache License, Version 2.0, January 2004\n",
            "Copyright (c) 2020, The Authors\n",
            "Copyright (c) 2020, Salesforce.com, Inc.\n",
            "Copyright 2020, Example.com, Inc.\n",
            "2026-05-02 10:00:00,123 INFO something happened, again\n",
            "Event name, event time and user name, in that order\n",
            "Date (UTC), Request ID, Sign-in error code (see below)\n",
            "Time (UTC),Request ID,Error code\n",
            "a,b\n",
        ] {
            assert!(!looks_like_header(text.as_bytes()), "{text}");
        }
    }

    #[test]
    fn hive_text_is_read_into_objects_and_arrays() {
        let identity = "{type=AssumedRole, principalid=AROADEPLOY:ci-run-42, arn=arn:aws:sts::111122223333:assumed-role/deploy/ci-run-42, accountid=111122223333, invokedby=null, accesskeyid=ASIADEPLOYSESSION001, username=null, sessioncontext={attributes={mfaauthenticated=false, creationdate=2026-05-02 10:00:00.000}, sessionissuer={type=Role, principalid=AROADEPLOY, arn=arn:aws:iam::111122223333:role/deploy, accountid=111122223333, username=deploy}, ec2roledelivery=null, webidfederationdata=null}}";
        let v = cell(identity).expect("value");
        assert_eq!(v["type"], "AssumedRole");
        assert_eq!(v["accesskeyid"], "ASIADEPLOYSESSION001");
        assert!(v.get("invokedby").is_none(), "null is absent");
        assert_eq!(v["sessioncontext"]["sessionissuer"]["username"], "deploy");
        assert_eq!(
            v["sessioncontext"]["attributes"]["creationdate"],
            "2026-05-02 10:00:00.000"
        );
        assert_eq!(
            cell("[{accountid=1, type=AWS::S3::Bucket, arn=arn:aws:s3:::b}]"),
            Some(json!([{"accountid": "1", "type": "AWS::S3::Bucket", "arn": "arn:aws:s3:::b"}]))
        );
        assert_eq!(cell("{\"a\": 1}"), Some(json!({"a": 1})), "JSON first");
        assert_eq!(cell("{not hive"), Some(json!("{not hive")), "else text");
        assert_eq!(cell(""), None);
        assert_eq!(cell("null"), None);
    }

    #[test]
    fn rows_keep_their_lines_and_bad_rows_are_reported() {
        #[derive(Default)]
        struct Collect(Vec<(u64, Value)>, Vec<(u64, String)>);
        impl RecordSink for Collect {
            fn record(&mut self, at: RecordAt, record: Value) {
                self.0.push((at.line, record));
            }
            fn malformed(&mut self, line: u64, reason: String) {
                self.1.push((line, reason));
            }
        }
        let text = b"a,\"b [UTC]\",c\n1,\"x\ny\",\n2,\xff,3\n4,5,6\n";
        let mut c = Collect::default();
        read_csv(Box::new(io::Cursor::new(text.to_vec())), &mut c).expect("read");
        assert_eq!(c.0[0], (2, json!({"a": "1", "b": "x\ny"})));
        assert_eq!(
            c.0.last(),
            Some(&(5, json!({"a": "4", "b": "5", "c": "6"})))
        );
        assert_eq!(c.1.len(), 1, "{:?}", c.1);
        assert_eq!(c.1[0].0, 4, "{:?}", c.1);
        // The same with CRLF line ends (a CRLF in a quoted cell read as a LF).
        let crlf = b"a,\"b [UTC]\",c\r\n1,\"x\r\ny\",\r\n2,\xff,3\r\n4,5,6\r\n";
        let mut d = Collect::default();
        read_csv(Box::new(io::Cursor::new(crlf.to_vec())), &mut d).expect("read");
        assert_eq!(d.0, c.0);
        assert_eq!(d.1.iter().map(|b| b.0).collect::<Vec<_>>(), [4]);
    }

    #[test]
    fn crlf_is_read_as_lf_wherever_reads_cut_it() {
        let text = b"a\r\nb\rc\r\r\nd\r".to_vec();
        // A buffered reader of one byte cuts between every CR and LF.
        for capacity in [1, 2, 3, 64] {
            let inner = io::BufReader::with_capacity(capacity, io::Cursor::new(text.clone()));
            let mut lf = CrlfAsLf {
                inner,
                pending_cr: false,
            };
            let mut out = Vec::new();
            lf.read_to_end(&mut out).expect("read");
            assert_eq!(out, b"a\nb\rc\r\nd\r", "capacity {capacity}");
        }
    }
}
