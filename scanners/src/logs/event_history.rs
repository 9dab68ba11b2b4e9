//! The CloudTrail console's Event history download as CSV (Event history → Download events →
//! CSV): one row per event, under column names with spaces (`Event time`, `User name`,
//! `AWS access key`, ...). [`super::csv_rows`] reads such a file when [`is_header`] says its
//! header is one, and each row becomes a CloudTrail record through [`Columns::record`]: the
//! event itself when the export has the full event's JSON (`CloudTrail event`), else the
//! columns put back where a CloudTrail record keeps them, for the CloudTrail parser.
//!
//! The column names: the CloudTrail User Guide, "Viewing CloudTrail events in the CloudTrail
//! console" (awsdocs/aws-cloudtrail-user-guide, `doc_source/view-cloudtrail-events-console.md`),
//! names the Event history columns and attributes (Event time, User name, Event name, Resource
//! type, Resource name, AWS access key, Event ID, Event source, Read only) and says events
//! download as CSV or JSON; the console lists what the LookupEvents API returns, whose `Event`
//! (API reference, `API_Event`) carries the same fields plus `CloudTrailEvent`, the whole event
//! as a JSON string. Parsers of these exports in public code read `Event ID`, `Event time`,
//! `Event name`, `Event source`, `User name`, `AWS region`, `Source IP address` and `Error code`.
//! No public copy of a downloaded header was found, so names are matched loosely: any case,
//! `-` or `_` for a space (`Read-only`, `Read only`), the spellings in `COLUMNS`; columns
//! not listed are left out of the record.

use serde_json::{Map, Value};

use super::csv_rows;

/// Where a column of the export goes in a CloudTrail record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// A top-level field of the record (`eventName`).
    Top(&'static str),
    /// A field of `userIdentity` (`userName`, `accessKeyId`).
    Identity(&'static str),
    /// The first resource's type.
    ResourceType,
    /// The first resource's name (an ARN for some resources, a name or id for others): put
    /// where records name their resources (`resources[0].ARN`), so it is the event's target.
    ResourceName,
    /// All resources, as LookupEvents gives them (`[{"ResourceType": ..., "ResourceName":
    /// ...}]`).
    Resources,
    /// The whole event's JSON.
    Event,
}

/// The export's column names (as [`csv_rows::console_column`] reads them) and where each goes.
const COLUMNS: &[(&str, Field)] = &[
    ("event id", Field::Top("eventID")),
    ("event time", Field::Top("eventTime")),
    ("event name", Field::Top("eventName")),
    ("event source", Field::Top("eventSource")),
    ("aws region", Field::Top("awsRegion")),
    ("error code", Field::Top("errorCode")),
    ("source ip address", Field::Top("sourceIPAddress")),
    ("source ip", Field::Top("sourceIPAddress")),
    ("read only", Field::Top("readOnly")),
    ("user name", Field::Identity("userName")),
    ("username", Field::Identity("userName")),
    ("aws access key", Field::Identity("accessKeyId")),
    ("aws access key id", Field::Identity("accessKeyId")),
    ("access key id", Field::Identity("accessKeyId")),
    ("resource type", Field::ResourceType),
    ("resource name", Field::ResourceName),
    ("resources", Field::Resources),
    ("cloudtrail event", Field::Event),
];

/// Columns only a CloudTrail export has; a header needs one of them besides `Event name` and
/// `Event time` (which other event exports also have) to be taken for this export.
const CLOUDTRAIL_ONLY: &[Field] = &[
    Field::Top("eventSource"),
    Field::Top("awsRegion"),
    Field::Identity("accessKeyId"),
    Field::Event,
];

/// Where column `name` goes, if it is one of the export's.
fn field_of(name: &str) -> Option<Field> {
    csv_rows::console_column(COLUMNS, name)
}

/// True when `names` (a CSV header's column names) are the console's Event history export:
/// `Event name`, `Event time` and one of `CLOUDTRAIL_ONLY` among them.
pub fn is_header(names: &[String]) -> bool {
    let fields: Vec<Field> = names.iter().filter_map(|n| field_of(n)).collect();
    fields.contains(&Field::Top("eventName"))
        && fields.contains(&Field::Top("eventTime"))
        && fields.iter().any(|f| CLOUDTRAIL_ONLY.contains(f))
}

/// Where each column of one export goes (by position in its header).
#[derive(Debug)]
pub struct Columns {
    fields: Vec<Option<Field>>,
}

impl Columns {
    /// The columns of `header`, when it is the export's ([`is_header`]).
    pub fn of(header: &[String]) -> Option<Columns> {
        is_header(header).then(|| Columns {
            fields: header.iter().map(|n| field_of(n)).collect(),
        })
    }

    /// The CloudTrail record of one row: the event's JSON when the row has it (an object),
    /// else the columns mapped; `None` for a row with nothing in them.
    pub fn record<'r>(&self, row: impl IntoIterator<Item = &'r str>) -> Option<Value> {
        let cells: Vec<(Field, &str)> = csv_rows::mapped_cells(&self.fields, row)
            .into_iter()
            .map(|(f, cell)| (f, cell.trim()))
            .collect();
        let event = cells
            .iter()
            .find(|(f, _)| *f == Field::Event)
            .and_then(|(_, cell)| whole_event(cell));
        event.or_else(|| mapped(&cells))
    }
}

/// The event a `CloudTrail event` cell holds, when it is a JSON object (a cell cut short, as
/// a spreadsheet cuts cells over 32,767 characters, is not: the row's other columns are used).
fn whole_event(cell: &str) -> Option<Value> {
    serde_json::from_str::<Value>(cell)
        .ok()
        .filter(Value::is_object)
}

/// A CloudTrail record from the cells of one row, each where [`Field`] says.
fn mapped(cells: &[(Field, &str)]) -> Option<Value> {
    let mut record = Map::new();
    let mut identity = Map::new();
    let mut resource = Map::new();
    let mut resources = None;
    for (field, cell) in cells {
        match field {
            Field::Top(key) => {
                record.insert((*key).into(), Value::from(*cell));
            }
            Field::Identity(key) => {
                identity.insert((*key).into(), Value::from(*cell));
            }
            Field::ResourceType => {
                resource.insert("type".into(), Value::from(*cell));
            }
            Field::ResourceName => {
                resource.insert("ARN".into(), Value::from(*cell));
            }
            Field::Resources => resources = lookup_resources(cell),
            Field::Event => {}
        }
    }
    if !identity.is_empty() {
        record.insert("userIdentity".into(), Value::Object(identity));
    }
    let resources = resources.or_else(|| {
        resource
            .contains_key("ARN")
            .then(|| vec![Value::Object(resource)])
    });
    if let Some(resources) = resources {
        record.insert("resources".into(), Value::Array(resources));
    }
    (!record.is_empty()).then_some(Value::Object(record))
}

/// A `Resources` cell holding LookupEvents' resources as JSON (`[{"ResourceType": ...,
/// "ResourceName": ...}]`, keys in any case), each as a record's resource (`type`, `ARN`);
/// `None` for anything else or when none has a name.
fn lookup_resources(cell: &str) -> Option<Vec<Value>> {
    let items: Vec<Value> = serde_json::from_str(cell).ok()?;
    let text = |item: &Map<String, Value>, key: &str| {
        item.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| v.as_str())
            .map(Value::from)
    };
    let resources: Vec<Value> = items
        .iter()
        .filter_map(Value::as_object)
        .filter_map(|item| {
            let mut out = Map::new();
            out.insert("ARN".into(), text(item, "ResourceName")?);
            if let Some(kind) = text(item, "ResourceType") {
                out.insert("type".into(), kind);
            }
            Some(Value::Object(out))
        })
        .collect();
    (!resources.is_empty()).then_some(resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(header: &str) -> Vec<String> {
        header.split(',').map(str::to_string).collect()
    }

    #[test]
    fn the_export_header_is_told_from_other_event_exports() {
        for header in [
            "Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,AWS region,Error code,Source IP address,Event source,Read-only,Resources,CloudTrail event",
            "event name,EVENT TIME,event_source",
            "Event name,Event time,CloudTrail event",
        ] {
            assert!(is_header(&names(header)), "{header}");
        }
        for header in [
            "Event Name,Event Time,Status,External Url",
            "Event ID,Event Name,Event Time,Event Venue,Company Name",
            "Event time,User name,Event source",
            "Event name,Event time,Region",
            "Apache License, Version 2.0, January 2004",
        ] {
            assert!(!is_header(&names(header)), "{header}");
        }
    }

    #[test]
    fn rows_with_the_full_event_give_it_and_others_are_mapped() {
        let header = names(
            "Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,AWS region,Error code,Source IP address,Event source,Read-only,Resources,CloudTrail event",
        );
        let columns = Columns::of(&header).expect("the export");
        let event =
            json!({"eventVersion": "1.09", "eventID": "e-1", "eventName": "CreateAccessKey"});
        let row = [
            "e-1",
            "2026-05-02T10:00:00Z",
            "alice",
            "CreateAccessKey",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "false",
            "",
            &event.to_string(),
        ];
        assert_eq!(columns.record(row), Some(event), "the event itself");
        let resources = r#"[{"ResourceType":"AWS::IAM::AccessKey","ResourceName":"AKIAEXAMPLE0000002"},{"resourceType":"AWS::IAM::User","resourceName":"ci-deployer"}]"#;
        let row = [
            "e-2",
            "2026-05-02T10:01:00Z",
            "alice",
            "CreateAccessKey",
            "AWS::IAM::AccessKey",
            "AKIAEXAMPLE0000002",
            "AKIAEXAMPLE0000001",
            "us-east-1",
            "",
            "192.0.2.10",
            "iam.amazonaws.com",
            "false",
            resources,
            "{\"eventVersion\":\"1.09\",\"eventID\":",
        ];
        let want = json!({
            "eventID": "e-2", "eventTime": "2026-05-02T10:01:00Z", "eventName": "CreateAccessKey",
            "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.10",
            "eventSource": "iam.amazonaws.com", "readOnly": "false",
            "userIdentity": {"userName": "alice", "accessKeyId": "AKIAEXAMPLE0000001"},
            "resources": [{"type": "AWS::IAM::AccessKey", "ARN": "AKIAEXAMPLE0000002"},
                          {"type": "AWS::IAM::User", "ARN": "ci-deployer"}],
        });
        assert_eq!(
            columns.record(row),
            Some(want),
            "a cell cut short: the columns"
        );
        assert_eq!(columns.record([""; 14]), None, "an empty row");
    }

    #[test]
    fn without_the_full_event_the_resource_columns_name_the_resource() {
        let header = names(
            "Event time,User name,Event name,Resource type,Resource name,Event source,Extra column",
        );
        let columns = Columns::of(&header).expect("the export");
        let row = [
            "2026-05-02T10:02:00Z",
            "root",
            "DeleteTrail",
            "AWS::CloudTrail::Trail",
            "main-trail",
            "cloudtrail.amazonaws.com",
            "ignored",
        ];
        assert_eq!(
            columns.record(row),
            Some(json!({
                "eventTime": "2026-05-02T10:02:00Z", "eventName": "DeleteTrail",
                "eventSource": "cloudtrail.amazonaws.com", "userIdentity": {"userName": "root"},
                "resources": [{"type": "AWS::CloudTrail::Trail", "ARN": "main-trail"}],
            }))
        );
    }

    /// `rows` as the console writes them: every cell quoted, CRLF line ends.
    fn console_csv(rows: &[&[&str]]) -> String {
        let mut out = csv::WriterBuilder::new()
            .quote_style(csv::QuoteStyle::Always)
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        for row in rows {
            out.write_record(*row).expect("row");
        }
        String::from_utf8(out.into_inner().expect("csv")).expect("utf-8")
    }

    /// The export as the console downloads it (every cell quoted; the event's JSON with its
    /// quotes doubled), with and without the `CloudTrail event` column, through the reader
    /// and the CloudTrail parser.
    #[test]
    fn console_exports_become_cloudtrail_events() {
        let event = json!({
            "eventVersion": "1.09", "eventID": "ct-console-1", "eventTime": "2026-05-02T10:00:00Z",
            "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey", "awsRegion": "us-east-1",
            "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAALICE",
                "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
                "accessKeyId": "AKIAALICE00000000001", "userName": "alice"},
            "requestParameters": {"userName": "ci-deployer"},
            "responseElements": {"accessKey": {"accessKeyId": "AKIACIDEPLOYER000002",
                "status": "Active", "userName": "ci-deployer"}},
            "readOnly": false, "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        });
        let header = [
            "Event ID",
            "Event time",
            "User name",
            "Event name",
            "Resource type",
            "Resource name",
            "AWS access key",
            "AWS region",
            "Error code",
            "Source IP address",
            "Event source",
            "Read-only",
            "Resources",
            "CloudTrail event",
        ];
        let row = [
            "ct-console-1",
            "2026-05-02T10:00:00Z",
            "alice",
            "CreateAccessKey",
            "AWS::IAM::AccessKey",
            "AKIACIDEPLOYER000002",
            "AKIAALICE00000000001",
            "us-east-1",
            "",
            "192.0.2.10",
            "iam.amazonaws.com",
            "false",
            r#"[{"ResourceType":"AWS::IAM::AccessKey","ResourceName":"AKIACIDEPLOYER000002"}]"#,
        ];
        let event_text = event.to_string();
        let with_event = console_csv(&[&header, &[&row[..], &[event_text.as_str()]].concat()]);
        let without = console_csv(&[&header[..13], &row]);
        let parse = |text: String| {
            let input = Box::new(std::io::Cursor::new(text.into_bytes()));
            crate::logs::normalise::parse_all(input, "event-history.csv", None).expect("read")
        };
        let (whole, rejected) = parse(with_event);
        assert!(rejected.is_empty(), "{rejected:?}");
        let (mapped, rejected) = parse(without);
        assert!(rejected.is_empty(), "{rejected:?}");
        let (whole, mapped) = (&whole[0], &mapped[0]);
        assert_eq!(whole.raw_ref, "event-history.csv:2");
        // The full event gives what the CloudTrail record gives ...
        assert_eq!(
            whole.actor.as_deref(),
            Some("arn:aws:iam::111122223333:user/alice")
        );
        assert_eq!(
            whole.issued_credential_id.as_deref(),
            Some("AKIACIDEPLOYER000002")
        );
        assert_eq!(whole.tenant, "111122223333");
        // ... and the columns what they hold: the user's name, not the ARN.
        assert_eq!(mapped.actor.as_deref(), Some("alice"));
        assert_eq!(mapped.issued_credential_id, None);
        assert_eq!(mapped.target.as_deref(), Some("AKIACIDEPLOYER000002"));
        for e in [whole, mapped] {
            assert_eq!(e.source_format, "cloudtrail");
            assert_eq!(e.event_id, "ct-console-1");
            assert_eq!(e.action, "CreateAccessKey");
            assert_eq!(e.event_source.as_deref(), Some("iam.amazonaws.com"));
            assert_eq!(e.credential_id.as_deref(), Some("AKIAALICE00000000001"));
            assert_eq!(e.region.as_deref(), Some("us-east-1"));
            assert_eq!(e.outcome, "success");
            assert_eq!(e.event_time, whole.event_time);
        }
    }
}
