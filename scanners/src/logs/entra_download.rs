//! The Microsoft Entra admin center's sign-in log download as CSV (Monitoring & health →
//! Sign-in logs → Download → CSV): one file per tab (user sign-ins interactive and
//! non-interactive, service principal sign-ins, managed identity sign-ins), one row per
//! sign-in, under the portal's column names (`Date (UTC)`, `Request ID`, `Sign-in error code`,
//! `Service principal ID`, ...). [`super::csv_rows`] reads such a file when [`is_header`] says
//! its header is one, and each row becomes the Graph `signIn` object it shows through
//! [`Columns::record`], for the Entra sign-in parser ([`super::entra`]), as
//! [`super::event_history`] does for the CloudTrail console's download. The portal's JSON
//! download is Graph `signIn` objects already, and is read as they are.
//!
//! The column names, as public parsers of these downloads spell them:
//! - user tabs: bitpusher2k/M365IRScripts, `02-ProcessEntraSignInLog.ps1` ("Processes an
//!   exported CSV of Entra ID Sign-in log from admin center"), reads them by position in this
//!   order: Date, Request ID, User agent, Correlation ID, User ID, User, Username, User type,
//!   Cross tenant access type, Incoming token type, Authentication Protocol, Unique token
//!   identifier, Original transfer method, Client credential type, Token Protection, Application,
//!   Application ID, Resource, Resource ID, Resource tenant ID, Home tenant ID, Home tenant name,
//!   IP address, Location ("City, State, Country"), Status, Sign-in error code, Failure reason,
//!   Client app, Device ID, Browser, Operating System, ..., Conditional Access, Managed Identity
//!   type, Associated Resource Id; its dates are ISO 8601 (`...T...`). Public ETL code and a
//!   schema note for the same downloads (found by text search, repository not named by the
//!   index) give the whole user header (57 names) with `Date (UTC)`, `Application ID ` and
//!   `Resource ID ` (a trailing space), `Autonomous system  number` (two spaces) and `Incoming
//!   token type` twice; a PowerShell export mimicking the download maps `Request ID` to the
//!   Graph `id`, `Sign-in error code` to `status.errorCode` and `Managed Identity type` to
//!   `managedServiceIdentity.msiType`; an OCSF mapper reads `Date (UTC)`, `Status`, `User agent`,
//!   `Sign-in error code`, `Failure reason`, `User ID`, `Username`, `IP address`, `Application
//!   ID`, `Resource tenant ID`.
//! - service principal tab (`ApplicationSignIns_<from>_<to>.csv`), from that schema note: Date
//!   (UTC), Request ID, Correlation ID, Service principal ID, Service principal name, Credential
//!   key ID, Credential thumbprint, Application, Application ID, App owner tenant ID, Resource,
//!   Resource ID, Resource tenant ID, Resource owner tenant ID, Home tenant ID, Home tenant name,
//!   IP address, Location, Status, Sign-in error code, Failure reason, Conditional Access.
//! - MicrosoftDocs/entra-docs, `docs/identity/monitoring-health/reference-sign-ins-log-schema.md`:
//!   the download per tab (interactive, non-interactive, service principal
//!   "ApplicationSignIns", managed identity "MSISignIns") and the Graph shape of its JSON.
//!
//! No public copy of the managed identity tab's header was found: its rows are read when it
//! has the service principal tab's `Service principal ID`, and are managed identity sign-ins
//! when their `Managed Identity type` is filled. Names are matched in any case, `-` and `_` read
//! as spaces and runs of spaces as one; columns not listed in `COLUMNS` are left out.
//!
//! The tab of a user row cannot be told from the file (the interactive and non-interactive
//! tabs have the same columns), so user rows say nothing of it and their events are neither
//! interactive nor non-interactive ([`super::entra`]); service principal and managed identity
//! rows are not interactive.

use serde_json::{Map, Value};

use super::{csv_rows, fields};

/// Where a column of the download goes in a Graph `signIn` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    /// A field of the object, or of an object in it (`status.errorCode`).
    Graph(&'static str),
    /// `Location`, "City, State, Country": the country is `location.countryOrRegion`.
    Location,
}

/// The download's column names (as [`csv_rows::console_column`] reads them) and where each
/// goes.
const COLUMNS: &[(&str, Field)] = &[
    ("date (utc)", Field::Graph("createdDateTime")),
    ("request id", Field::Graph("id")),
    ("correlation id", Field::Graph("correlationId")),
    ("user agent", Field::Graph("userAgent")),
    ("user id", Field::Graph("userId")),
    ("user", Field::Graph("userDisplayName")),
    ("username", Field::Graph("userPrincipalName")),
    (
        "authentication protocol",
        Field::Graph("authenticationProtocol"),
    ),
    (
        "client credential type",
        Field::Graph("clientCredentialType"),
    ),
    ("application", Field::Graph("appDisplayName")),
    ("application id", Field::Graph("appId")),
    ("resource", Field::Graph("resourceDisplayName")),
    ("resource id", Field::Graph("resourceId")),
    ("resource tenant id", Field::Graph("resourceTenantId")),
    ("home tenant id", Field::Graph("homeTenantId")),
    ("ip address", Field::Graph("ipAddress")),
    ("location", Field::Location),
    // Success, Failure or Interrupted: the outcome when no error code says it.
    ("status", Field::Graph("resultType")),
    ("sign in error code", Field::Graph("status.errorCode")),
    ("failure reason", Field::Graph("status.failureReason")),
    ("client app", Field::Graph("clientAppUsed")),
    ("managed identity type", Field::Graph("managedIdentityType")),
    ("service principal id", Field::Graph("servicePrincipalId")),
    (
        "service principal name",
        Field::Graph("servicePrincipalName"),
    ),
    (
        "credential key id",
        Field::Graph("servicePrincipalCredentialKeyId"),
    ),
    (
        "credential thumbprint",
        Field::Graph("servicePrincipalCredentialThumbprint"),
    ),
];

/// Where column `name` goes, if it is one of the download's.
fn field_of(name: &str) -> Option<Field> {
    csv_rows::console_column(COLUMNS, name)
}

/// True when `names` (a CSV header's column names) are the download's: `Date (UTC)`, `Request
/// ID`, and `Sign-in error code` or `Service principal ID`, all of the portal's spelling.
pub fn is_header(names: &[String]) -> bool {
    let fields: Vec<Field> = names.iter().filter_map(|n| field_of(n)).collect();
    let has = |path| fields.contains(&Field::Graph(path));
    has("createdDateTime") && has("id") && (has("status.errorCode") || has("servicePrincipalId"))
}

/// Where each column of one download goes (by position in its header), and whether it is a
/// workload tab (service principal or managed identity sign-ins: a `Service principal ID`
/// and no user columns).
#[derive(Debug)]
pub struct Columns {
    fields: Vec<Option<Field>>,
    workload: bool,
}

impl Columns {
    /// The columns of `header`, when it is the download's ([`is_header`]).
    pub fn of(header: &[String]) -> Option<Columns> {
        if !is_header(header) {
            return None;
        }
        let fields: Vec<Option<Field>> = header.iter().map(|n| field_of(n)).collect();
        let has = |path| fields.contains(&Some(Field::Graph(path)));
        let workload = has("servicePrincipalId") && !has("userId") && !has("userPrincipalName");
        Some(Columns { fields, workload })
    }

    /// The Graph `signIn` object of one row; `None` for a row with nothing in its columns.
    pub fn record<'r>(&self, row: impl IntoIterator<Item = &'r str>) -> Option<Value> {
        let mut record = Map::new();
        for (field, cell) in csv_rows::mapped_cells(&self.fields, row) {
            let cell = cell.trim();
            match field {
                Field::Graph(path) => {
                    let _ = fields::insert_path(&mut record, path, Value::from(cell));
                }
                Field::Location => {
                    if let Some(country) = cell.rsplit(',').map(str::trim).find(|c| !c.is_empty()) {
                        let place = Value::from(country);
                        let _ = fields::insert_path(&mut record, "location.countryOrRegion", place);
                    }
                }
            }
        }
        if record.is_empty() {
            return None;
        }
        // Every Graph sign-in has its status (and the parser knows one by it), even a row
        // whose error code is empty.
        record
            .entry("status")
            .or_insert_with(|| Value::Object(Map::new()));
        if self.workload {
            let kind = if record.contains_key("managedIdentityType") {
                "managedIdentity"
            } else {
                "servicePrincipal"
            };
            record.insert("signInEventTypes".into(), Value::from(vec![kind]));
            record.insert("isInteractive".into(), Value::from(false));
        } else {
            // The interactive and non-interactive user tabs share their columns: a user
            // row does not say which it is (absent, the parser would take Graph v1.0's
            // meaning, interactive).
            record.insert("isInteractive".into(), Value::Null);
        }
        Some(Value::Object(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The user tabs' header as the portal writes it, all 57 names (a trailing space after
    /// `Application ID` and `Resource ID`, two spaces in `Autonomous system  number`, `Incoming
    /// token type` twice).
    const USER_HEADER: &[&str] = &[
        "Date (UTC)",
        "Request ID",
        "User agent",
        "Correlation ID",
        "User ID",
        "User",
        "Username",
        "User type",
        "Cross tenant access type",
        "Incoming token type",
        "Authentication Protocol",
        "Unique token identifier",
        "Original transfer method",
        "Client credential type",
        "Token Protection - Sign In Session",
        "Token Protection - Sign In Session StatusCode",
        "Application",
        "Application ID ",
        "App owner tenant ID",
        "Resource",
        "Resource ID ",
        "Resource tenant ID",
        "Resource owner tenant ID",
        "Home tenant ID",
        "Home tenant name",
        "IP address",
        "Location",
        "Status",
        "Sign-in error code",
        "Failure reason",
        "Client app",
        "Device ID",
        "Browser",
        "Operating System",
        "Compliant",
        "Managed",
        "Join Type",
        "Multifactor authentication result",
        "Multifactor authentication auth method",
        "Multifactor authentication auth detail",
        "Authentication requirement",
        "Sign-in identifier",
        "Session ID",
        "IP address (seen by resource)",
        "Through Global Secure Access",
        "Global Secure Access IP address",
        "Autonomous system  number",
        "Flagged for review",
        "Token issuer type",
        "Incoming token type",
        "Token issuer name",
        "Latency",
        "Conditional Access",
        "Managed Identity type",
        "Associated Resource Id",
        "Federated Token Id",
        "Federated Token Issuer",
    ];

    /// The service principal tab's header.
    const SERVICE_PRINCIPAL_HEADER: &[&str] = &[
        "Date (UTC)",
        "Request ID",
        "Correlation ID",
        "Service principal ID",
        "Service principal name",
        "Credential key ID",
        "Credential thumbprint",
        "Application",
        "Application ID ",
        "App owner tenant ID",
        "Resource",
        "Resource ID ",
        "Resource tenant ID",
        "Resource owner tenant ID",
        "Home tenant ID",
        "Home tenant name",
        "IP address",
        "Location",
        "Status",
        "Sign-in error code",
        "Failure reason",
        "Conditional Access",
    ];

    fn names(header: &[&str]) -> Vec<String> {
        header.iter().map(|n| n.trim().to_string()).collect()
    }

    /// A row of `header` with `cells` (by column name) filled and every other cell empty.
    fn row(header: &[&str], cells: &[(&str, &str)]) -> Vec<String> {
        header
            .iter()
            .map(|name| {
                cells
                    .iter()
                    .find(|(n, _)| *n == name.trim())
                    .map_or(String::new(), |(_, v)| v.to_string())
            })
            .collect()
    }

    fn parse(columns: &Columns, cells: &[String]) -> nhiscope_engine::model::EventRow {
        let record = columns
            .record(cells.iter().map(String::as_str))
            .expect("a record");
        let (format, event) = crate::logs::normalise::normalise(record, None).expect("an event");
        assert_eq!(format, crate::logs::Format::EntraSignIn);
        event
    }

    #[test]
    fn the_download_header_is_told_from_other_csv_headers() {
        for header in [USER_HEADER, SERVICE_PRINCIPAL_HEADER] {
            assert!(is_header(&names(header)), "{header:?}");
        }
        assert!(is_header(&names(&[
            "DATE (UTC)",
            "request_id",
            "Sign in error code"
        ])));
        for header in [
            // The audit log download, the Event history download, a Sentinel export.
            &[
                "Date (UTC)",
                "CorrelationId",
                "Service",
                "Category",
                "Activity",
                "Result",
            ][..],
            &[
                "Event ID",
                "Event time",
                "User name",
                "Event name",
                "Event source",
            ],
            &[
                "TimeGenerated [UTC]",
                "UserPrincipalName",
                "ResultType",
                "IPAddress",
            ],
            // Two of the three, or the words in prose.
            &["Date (UTC)", "Request ID", "Status", "Failure reason"],
            &["Request ID", "Sign-in error code", "Service principal ID"],
            &["Date (UTC), Request ID and Sign-in error code are the columns"],
        ] {
            assert!(!is_header(&names(header)), "{header:?}");
        }
    }

    #[test]
    fn an_interactive_user_row_is_the_users_sign_in() {
        let columns = Columns::of(&names(USER_HEADER)).expect("the download");
        let cells = row(
            USER_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T09:00:00Z"),
                ("Request ID", "si-0002"),
                (
                    "User agent",
                    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
                ),
                ("Correlation ID", "c-si-0002"),
                ("User ID", "u0000000-0000-0000-0000-000000000009"),
                ("User", "Backup service"),
                ("Username", "svc-backup@example.com"),
                ("User type", "Member"),
                ("Authentication Protocol", "none"),
                ("Client credential type", "None"),
                ("Application", "Azure Portal"),
                ("Application ID", "a0000000-0000-0000-0000-000000000002"),
                ("Resource", "Windows Azure Service Management API"),
                ("Resource tenant ID", "t0000000-0000-0000-0000-000000000001"),
                ("Home tenant ID", "t0000000-0000-0000-0000-000000000001"),
                ("IP address", "198.51.100.77"),
                ("Location", "Amsterdam, Noord-Holland, NL"),
                ("Status", "Success"),
                ("Sign-in error code", "0"),
                ("Client app", "Browser"),
                ("Conditional Access", "Not Applied"),
            ],
        );
        let e = parse(&columns, &cells);
        assert_eq!(e.event_id, "si-0002");
        assert_eq!(e.actor.as_deref(), Some("svc-backup@example.com"));
        assert_eq!(
            e.actor_id.as_deref(),
            Some("u0000000-0000-0000-0000-000000000009")
        );
        assert_eq!(e.actor_type.as_deref(), Some("user"));
        assert_eq!(e.interactive, None, "the user tabs share their columns");
        assert_eq!((e.outcome.as_str(), e.error_code), ("success", None));
        assert_eq!(e.credential_kind, None, "`None` is no credential");
        assert_eq!(e.source_ip.as_deref(), Some("198.51.100.77"));
        assert_eq!(e.region.as_deref(), Some("NL"));
        assert_eq!(e.tenant, "t0000000-0000-0000-0000-000000000001");
        assert_eq!(e.request_id.as_deref(), Some("c-si-0002"));
        assert_eq!(
            e.target.as_deref(),
            Some("Windows Azure Service Management API")
        );
        assert_eq!(
            e.event_time,
            nhiscope_engine::time::parse("2026-05-02T09:00:00Z").expect("time")
        );
        assert!(e
            .user_agent
            .as_deref()
            .is_some_and(|u| u.starts_with("Mozilla/5.0")));
        let attributes = e.attributes.unwrap_or_default();
        assert!(
            attributes.contains(r#""client_app":"Browser""#),
            "{attributes}"
        );
        assert!(
            attributes.contains(r#""app_name":"Azure Portal""#),
            "{attributes}"
        );
    }

    #[test]
    fn a_service_principal_row_names_its_credential() {
        let columns = Columns::of(&names(SERVICE_PRINCIPAL_HEADER)).expect("the download");
        let cells = row(
            SERVICE_PRINCIPAL_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T08:00:00Z"),
                ("Request ID", "si-0001"),
                ("Correlation ID", "c-si-0001"),
                (
                    "Service principal ID",
                    "s0000000-0000-0000-0000-000000000001",
                ),
                ("Service principal name", "billing-sync"),
                ("Credential key ID", "c0ffee00-0000-0000-0000-000000000001"),
                ("Application", "billing-sync"),
                ("Application ID", "a0000000-0000-0000-0000-000000000001"),
                ("Resource", "Microsoft Graph"),
                ("Resource ID", "00000003-0000-0000-c000-000000000000"),
                ("IP address", "20.50.1.2"),
                ("Location", "Dublin, Dublin, IE"),
                ("Status", "Success"),
                ("Sign-in error code", "0"),
            ],
        );
        let e = parse(&columns, &cells);
        assert_eq!(e.actor.as_deref(), Some("billing-sync"));
        assert_eq!(
            e.actor_id.as_deref(),
            Some("s0000000-0000-0000-0000-000000000001")
        );
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        assert_eq!(
            e.credential_id.as_deref(),
            Some("c0ffee00-0000-0000-0000-000000000001")
        );
        assert_eq!(e.interactive, Some(false));
        assert_eq!(e.outcome, "success");
        assert_eq!(e.target.as_deref(), Some("Microsoft Graph"));
        // A certificate's thumbprint when no key id is given.
        let cells = row(
            SERVICE_PRINCIPAL_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T08:05:00Z"),
                ("Request ID", "si-0003"),
                (
                    "Service principal ID",
                    "s0000000-0000-0000-0000-000000000001",
                ),
                (
                    "Credential thumbprint",
                    "0123456789ABCDEF0123456789ABCDEF01234567",
                ),
                ("Application ID", "a0000000-0000-0000-0000-000000000001"),
                ("Status", "Success"),
            ],
        );
        let e = parse(&columns, &cells);
        assert_eq!(
            e.credential_id.as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
        assert_eq!(e.outcome, "success", "the Status word without a code");
    }

    #[test]
    fn a_managed_identity_row_is_a_managed_identity_sign_in() {
        let mut header = SERVICE_PRINCIPAL_HEADER.to_vec();
        header.extend(["Managed Identity type", "Associated Resource Id"]);
        let columns = Columns::of(&names(&header)).expect("the download");
        let cells = row(
            &header,
            &[
                ("Date (UTC)", "2026-05-02T08:30:00Z"),
                ("Request ID", "mi-0001"),
                ("Service principal ID", "m0000000-0000-0000-0000-000000000001"),
                ("Service principal name", "vm-backup-identity"),
                ("Application ID", "a0000000-0000-0000-0000-00000000000m"),
                ("Resource", "Azure Storage"),
                ("IP address", "10.1.0.4"),
                ("Status", "Success"),
                ("Sign-in error code", "0"),
                ("Managed Identity type", "systemAssigned"),
                ("Associated Resource Id", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm-backup"),
            ],
        );
        let e = parse(&columns, &cells);
        assert_eq!(e.actor_type.as_deref(), Some("managedIdentity"));
        assert_eq!(
            e.actor_id.as_deref(),
            Some("m0000000-0000-0000-0000-000000000001")
        );
        assert_eq!(e.interactive, Some(false));
        assert!(e
            .attributes
            .as_deref()
            .unwrap_or("")
            .contains(r#""managed_identity_type":"systemAssigned""#));
    }

    #[test]
    fn a_failed_sign_in_keeps_its_error_code_and_reason() {
        let columns = Columns::of(&names(USER_HEADER)).expect("the download");
        let cells = row(
            USER_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T09:30:00Z"),
                ("Request ID", "si-0009"),
                ("User ID", "u0000000-0000-0000-0000-000000000009"),
                ("Username", "svc-backup@example.com"),
                ("Application ID", "a0000000-0000-0000-0000-000000000002"),
                ("IP address", "203.0.113.50"),
                ("Status", "Failure"),
                ("Sign-in error code", "50126"),
                (
                    "Failure reason",
                    "Error validating credentials due to invalid username or password.",
                ),
            ],
        );
        let e = parse(&columns, &cells);
        assert_eq!(
            (e.outcome.as_str(), e.error_code.as_deref()),
            ("failure", Some("50126"))
        );
        assert!(e
            .attributes
            .as_deref()
            .unwrap_or("")
            .contains("invalid username or password"));
        // The service principal tab: a failure for a wrong secret.
        let columns = Columns::of(&names(SERVICE_PRINCIPAL_HEADER)).expect("the download");
        let cells = row(
            SERVICE_PRINCIPAL_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T08:10:00Z"),
                ("Request ID", "si-0004"),
                (
                    "Service principal ID",
                    "s0000000-0000-0000-0000-000000000001",
                ),
                ("Application ID", "a0000000-0000-0000-0000-000000000001"),
                ("Status", "Failure"),
                ("Sign-in error code", "7000215"),
                ("Failure reason", "Invalid client secret provided."),
            ],
        );
        let e = parse(&columns, &cells);
        assert_eq!(e.error_code.as_deref(), Some("7000215"));
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        // An interrupted sign-in without a code is not called a success or a failure.
        let cells = row(
            USER_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T09:31:00Z"),
                ("Request ID", "si-0010"),
                ("User ID", "u0000000-0000-0000-0000-000000000009"),
                ("Application ID", "a0000000-0000-0000-0000-000000000002"),
                ("Status", "Interrupted"),
            ],
        );
        let columns = Columns::of(&names(USER_HEADER)).expect("the download");
        assert_eq!(parse(&columns, &cells).outcome, "unknown");
        assert_eq!(
            columns.record(row(USER_HEADER, &[]).iter().map(String::as_str)),
            None
        );
    }

    /// The portal's JSON download: a UTF-8 BOM, then an indented array of Graph `signIn`
    /// objects (camelCase, `@odata` annotations among their keys), read as they are.
    #[test]
    fn the_json_download_is_read_as_graph_sign_ins() {
        let download = json!([
            {"@odata.type": "#microsoft.graph.signIn", "id": "si-0001",
             "createdDateTime": "2026-05-02T08:00:00Z", "appId": "a0000000-0000-0000-0000-000000000001",
             "appDisplayName": "billing-sync", "servicePrincipalId": "s0000000-0000-0000-0000-000000000001",
             "servicePrincipalName": "billing-sync", "ipAddress": "20.50.1.2",
             "signInEventTypes": ["servicePrincipal"], "signInEventTypes@odata.type": "#Collection(String)",
             "isInteractive": false, "clientCredentialType": "clientSecret",
             "servicePrincipalCredentialKeyId": "c0ffee00-0000-0000-0000-000000000001",
             "resourceDisplayName": "Microsoft Graph", "status": {"errorCode": 0, "failureReason": "Other."},
             "location": {"city": "Dublin", "state": "Dublin", "countryOrRegion": "IE"},
             "correlationId": "c-si-0001"},
            {"id": "si-0002", "createdDateTime": "2026-05-02T09:00:00Z",
             "userDisplayName": "Backup service", "userPrincipalName": "svc-backup@example.com",
             "userId": "u0000000-0000-0000-0000-000000000009", "appId": "a0000000-0000-0000-0000-000000000002",
             "appDisplayName": "Azure Portal", "ipAddress": "198.51.100.77", "clientAppUsed": "Browser",
             "isInteractive": true, "status": {"errorCode": 50126, "failureReason": "Invalid username or password."},
             "deviceDetail": {"browser": "Edge 126.0.0", "operatingSystem": "Windows10"},
             "appliedConditionalAccessPolicies": []}
        ]);
        let mut text = "\u{feff}".as_bytes().to_vec();
        text.extend(serde_json::to_vec_pretty(&download).expect("json"));
        let input = Box::new(std::io::Cursor::new(text));
        let (events, rejected) =
            crate::logs::normalise::parse_all(input, "signins.json", None).expect("read");
        assert!(rejected.is_empty(), "{rejected:?}");
        let got: Vec<_> = events
            .iter()
            .map(|e| {
                (
                    e.source_format.as_str(),
                    e.event_id.as_str(),
                    e.actor_type.as_deref(),
                    e.interactive,
                    e.outcome.as_str(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "entra_signin",
                    "si-0001",
                    Some("servicePrincipal"),
                    Some(false),
                    "success"
                ),
                (
                    "entra_signin",
                    "si-0002",
                    Some("user"),
                    Some(true),
                    "failure"
                ),
            ]
        );
        assert_eq!(
            events[0].credential_id.as_deref(),
            Some("c0ffee00-0000-0000-0000-000000000001")
        );
        assert_eq!(events[1].error_code.as_deref(), Some("50126"));
    }

    #[test]
    fn the_record_is_the_graph_sign_in_it_shows() {
        let columns = Columns::of(&names(SERVICE_PRINCIPAL_HEADER)).expect("the download");
        let cells = row(
            SERVICE_PRINCIPAL_HEADER,
            &[
                ("Date (UTC)", "2026-05-02T08:00:00Z"),
                ("Request ID", "si-0001"),
                (
                    "Service principal ID",
                    "s0000000-0000-0000-0000-000000000001",
                ),
                ("Location", "Dublin, , IE"),
                ("Sign-in error code", "0"),
                ("Failure reason", "Other."),
            ],
        );
        assert_eq!(
            columns.record(cells.iter().map(String::as_str)),
            Some(json!({
                "createdDateTime": "2026-05-02T08:00:00Z", "id": "si-0001",
                "servicePrincipalId": "s0000000-0000-0000-0000-000000000001",
                "location": {"countryOrRegion": "IE"},
                "status": {"errorCode": "0", "failureReason": "Other."},
                "signInEventTypes": ["servicePrincipal"], "isInteractive": false,
            }))
        );
    }
}
