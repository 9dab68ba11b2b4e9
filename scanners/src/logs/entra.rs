//! Microsoft Entra ID sign-in and audit logs, in the three shapes found in the wild: the Graph
//! API objects (`signIn`, `directoryAudit`; files of `{"value": [...]}`), Azure Monitor
//! diagnostic exports (`{"records": [...]}`, the Graph object under `properties`, the kind in
//! `category`: SignInLogs, NonInteractiveUserSignInLogs, ServicePrincipalSignInLogs,
//! ManagedIdentitySignInLogs, AuditLogs, ...), and rows of the Log Analytics / Microsoft
//! Sentinel tables (workspace data export, query results: flat PascalCase columns, the table
//! in `Type`: SigninLogs, AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs,
//! AADManagedIdentitySignInLogs, AuditLogs; time in `TimeGenerated`). Keys match in any case.
//!
//! Service principal and managed identity sign-ins resolve to `servicePrincipalId`; user
//! sign-ins to `userId` with the app in `attributes`. Audit events that add a credential
//! (`KeyIdentifier=` in a modified property) carry it as `issued_credential_id`.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at_ci, first_ci, text_ci};
use super::{Format, LogParser, Reject};

const SIGN_IN_CATEGORIES: &[&str] = &[
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
];

/// The Graph object of a record: `properties` in diagnostic exports, the record itself in
/// Graph exports.
fn body(r: &Value) -> &Value {
    match at_ci(r, "properties") {
        Some(p) if p.is_object() && text_ci(r, "category").is_some() => p,
        _ => r,
    }
}

fn category(r: &Value) -> Option<String> {
    text_ci(r, "category")
}

/// The Log Analytics table a row comes from (its `Type` column), named as the diagnostic
/// categories are (`AADServicePrincipalSignInLogs` → `ServicePrincipalSignInLogs`), when it is
/// one of Entra's.
fn log_analytics_table(r: &Value) -> Option<&str> {
    let t = r.get("Type")?.as_str()?;
    let name = t.strip_prefix("AAD").unwrap_or(t);
    SIGN_IN_CATEGORIES
        .iter()
        .chain(&["AuditLogs"])
        .find(|c| c.eq_ignore_ascii_case(name))
        .copied()
}

pub struct EntraSignIn;

impl LogParser for EntraSignIn {
    fn format(&self) -> Format {
        Format::EntraSignIn
    }

    fn detect(&self, r: &Value) -> bool {
        if let Some(table) = log_analytics_table(r) {
            return SIGN_IN_CATEGORIES.contains(&table);
        }
        if let Some(c) = category(r) {
            return SIGN_IN_CATEGORIES
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&c));
        }
        // Graph's camelCase, or PascalCase as the Graph PowerShell SDK's objects print.
        let has = |k: &str| at_ci(r, k).is_some();
        has("createdDateTime")
            && (has("appId") || has("servicePrincipalId"))
            && (has("ipAddress") || has("status"))
            && !has("activityDisplayName")
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let b = body(r);
        let event_time = ["createdDateTime", "time", "TimeGenerated"]
            .iter()
            .find_map(|k| {
                at_ci(b, k)
                    .or_else(|| at_ci(r, k))
                    .and_then(fields::timestamp)
            })
            .ok_or_else(|| Reject::missing("createdDateTime"))?;
        let cat = log_analytics_table(r)
            .map(str::to_string)
            .or_else(|| category(r));
        let event_types: Vec<String> = at_ci(b, "signInEventTypes")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(fields::as_text).collect())
            .unwrap_or_default();
        let is_interactive = fields::flag(b, "isInteractive");
        let kind = match cat.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("serviceprincipalsigninlogs") => "servicePrincipal",
            Some("managedidentitysigninlogs") => "managedIdentity",
            Some("noninteractiveusersigninlogs") => "nonInteractiveUser",
            Some("signinlogs") => "interactiveUser",
            _ => event_types
                .first()
                .map(String::as_str)
                .map(|t| match t {
                    "servicePrincipal" => "servicePrincipal",
                    "managedIdentity" => "managedIdentity",
                    "nonInteractiveUser" => "nonInteractiveUser",
                    _ => "interactiveUser",
                })
                .unwrap_or(
                    if text_ci(b, "servicePrincipalId").is_some() && text_ci(b, "userId").is_none()
                    {
                        "servicePrincipal"
                    } else {
                        // A user's sign-in that says neither its log nor its event types:
                        // interactive when `isInteractive` says so or is absent (Graph
                        // v1.0's `auditLogs/signIns` lists interactive sign-ins only);
                        // unknown when it is there and null (the admin center's CSV
                        // download of a user tab, whose two tabs share their columns).
                        match is_interactive {
                            Some(true) => "interactiveUser",
                            Some(false) => "nonInteractiveUser",
                            None if fields::at_ci(b, "isInteractive").is_some() => "user",
                            None => "interactiveUser",
                        }
                    },
                ),
        };
        let workload = matches!(kind, "servicePrincipal" | "managedIdentity");
        let (actor, actor_id, actor_type) = if workload {
            (
                first_ci(
                    b,
                    &[
                        "servicePrincipalName",
                        "appDisplayName",
                        "servicePrincipalId",
                    ],
                ),
                first_ci(b, &["servicePrincipalId", "appId"]),
                kind,
            )
        } else {
            (
                first_ci(b, &["userPrincipalName", "userDisplayName", "userId"]),
                first_ci(b, &["userId", "userPrincipalName"]),
                "user",
            )
        };
        let credential_kind =
            first_ci(b, &["clientCredentialType"]).filter(|c| !c.eq_ignore_ascii_case("none"));
        let credential_id = first_ci(
            b,
            &[
                "servicePrincipalCredentialKeyId",
                "servicePrincipalCredentialThumbprint",
            ],
        );
        let error = at_ci(b, "status.errorCode").and_then(fields::as_text);
        let (outcome, error_code) = match error.as_deref() {
            Some("0") => ("success", None),
            Some(code) => ("failure", Some(code.to_string())),
            None => match text_ci(r, "resultType").as_deref() {
                Some("0") | Some("Success") | Some("success") => ("success", None),
                Some("Failure") | Some("failure") => ("failure", None),
                Some(code) if code.chars().all(|c| c.is_ascii_digit()) => {
                    ("failure", Some(code.to_string()))
                }
                _ => ("unknown", None),
            },
        };
        let interactive = is_interactive.or(match kind {
            "interactiveUser" => Some(true),
            "user" => None,
            _ => Some(false),
        });
        let attributes = fields::attributes(&[
            ("sign_in_type", Some(Value::from(kind))),
            ("app_id", at_ci(b, "appId").cloned()),
            ("app_name", at_ci(b, "appDisplayName").cloned()),
            (
                "managed_identity_type",
                at_ci(b, "managedIdentityType").cloned(),
            ),
            ("client_app", at_ci(b, "clientAppUsed").cloned()),
            ("auth_protocol", at_ci(b, "authenticationProtocol").cloned()),
            (
                "country",
                at_ci(b, "location.countryOrRegion")
                    .or_else(|| at_ci(b, "locationDetails.countryOrRegion"))
                    .cloned(),
            ),
            ("failure_reason", at_ci(b, "status.failureReason").cloned()),
        ]);
        Ok(EventRow {
            provider: "azure".into(),
            tenant: first_ci(r, &["tenantId"])
                .or_else(|| first_ci(b, &["resourceTenantId", "homeTenantId", "tenantId"]))
                .unwrap_or_default(),
            event_id: first_ci(b, &["id"])
                .or_else(|| text_ci(r, "id"))
                .unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::EntraSignIn.name().into(),
            event_source: cat.or(Some("signIns".into())),
            action: "SignIn".into(),
            actor_type: Some(actor_type.into()),
            actor,
            actor_id,
            credential_id,
            credential_kind,
            session_issuer: None,
            chain: Vec::new(),
            target: first_ci(b, &["resourceDisplayName", "resourceId"]),
            region: first_ci(
                b,
                &[
                    "location.countryOrRegion",
                    "locationDetails.countryOrRegion",
                ],
            ),
            source_ip: first_ci(b, &["ipAddress"])
                .or_else(|| first_ci(r, &["callerIpAddress"]))
                .map(|s| fields::ip(&s)),
            user_agent: first_ci(b, &["userAgent"]).map(|u| fields::redact(&u)),
            interactive,
            outcome: outcome.into(),
            error_code,
            request_id: first_ci(b, &["correlationId", "originalRequestId"])
                .or_else(|| text_ci(r, "correlationId")),
            issued_credential_id: None,
            raw_ref: String::new(),
            attributes,
        })
    }
}

pub struct EntraAudit;

impl LogParser for EntraAudit {
    fn format(&self) -> Format {
        Format::EntraAudit
    }

    fn detect(&self, r: &Value) -> bool {
        if let Some(table) = log_analytics_table(r) {
            return table == "AuditLogs";
        }
        let b = body(r);
        if category(r).is_some() && !std::ptr::eq(b, r) {
            return at_ci(b, "initiatedBy").is_some() || at_ci(b, "activityDisplayName").is_some();
        }
        at_ci(r, "activityDateTime").is_some() && at_ci(r, "activityDisplayName").is_some()
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let b = body(r);
        let action = first_ci(b, &["activityDisplayName", "operationName"])
            .or_else(|| text_ci(r, "operationName"))
            .ok_or_else(|| Reject::missing("activityDisplayName"))?;
        let event_time = at_ci(b, "activityDateTime")
            .or_else(|| at_ci(r, "time"))
            .or_else(|| at_ci(r, "TimeGenerated"))
            .and_then(fields::timestamp)
            .ok_or_else(|| Reject::missing("activityDateTime"))?;
        let (actor, actor_id, actor_type) =
            if at_ci(b, "initiatedBy.user").is_some_and(Value::is_object) {
                (
                    first_ci(
                        b,
                        &[
                            "initiatedBy.user.userPrincipalName",
                            "initiatedBy.user.displayName",
                        ],
                    ),
                    first_ci(b, &["initiatedBy.user.id"]),
                    "user",
                )
            } else {
                (
                    first_ci(
                        b,
                        &[
                            "initiatedBy.app.displayName",
                            "initiatedBy.app.servicePrincipalName",
                        ],
                    ),
                    first_ci(
                        b,
                        &[
                            "initiatedBy.app.servicePrincipalId",
                            "initiatedBy.app.appId",
                        ],
                    ),
                    "servicePrincipal",
                )
            };
        let targets = at_ci(b, "targetResources").and_then(Value::as_array);
        let target = targets
            .and_then(|t| t.first())
            .and_then(|t| first_ci(t, &["id", "userPrincipalName", "displayName"]));
        let result = first_ci(b, &["result"]).or_else(|| text_ci(r, "resultType"));
        let outcome = match result.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("success") => "success",
            Some("failure") | Some("timeout") => "failure",
            _ => "unknown",
        };
        let issued = targets.and_then(|t| t.iter().find_map(new_key_identifier));
        let attributes = fields::attributes(&[
            (
                "category",
                at_ci(b, "category")
                    .cloned()
                    .or_else(|| at_ci(r, "category").cloned()),
            ),
            ("operation_type", at_ci(b, "operationType").cloned()),
            (
                "target_name",
                targets
                    .and_then(|t| t.first())
                    .and_then(|t| at_ci(t, "displayName"))
                    .cloned(),
            ),
            (
                "target_type",
                targets
                    .and_then(|t| t.first())
                    .and_then(|t| at_ci(t, "type"))
                    .cloned(),
            ),
        ]);
        Ok(EventRow {
            provider: "azure".into(),
            tenant: first_ci(r, &["tenantId"])
                .or_else(|| first_ci(b, &["tenantId"]))
                .unwrap_or_default(),
            event_id: first_ci(b, &["id"])
                .or_else(|| text_ci(r, "id"))
                .unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::EntraAudit.name().into(),
            event_source: first_ci(b, &["loggedByService"]),
            action,
            actor_type: Some(actor_type.into()),
            actor,
            actor_id,
            credential_id: None,
            credential_kind: None,
            session_issuer: None,
            chain: Vec::new(),
            target,
            region: None,
            source_ip: first_ci(b, &["initiatedBy.user.ipAddress"])
                .or_else(|| first_ci(r, &["callerIpAddress"]))
                .map(|s| fields::ip(&s)),
            user_agent: None,
            interactive: None,
            outcome: outcome.into(),
            error_code: (outcome == "failure")
                .then(|| first_ci(b, &["resultReason"]))
                .flatten(),
            request_id: first_ci(b, &["correlationId"]).or_else(|| text_ci(r, "correlationId")),
            issued_credential_id: issued,
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// The `KeyIdentifier=` of a credential a modified property adds (present in the new value,
/// absent from the old one).
fn new_key_identifier(target: &Value) -> Option<String> {
    let props = at_ci(target, "modifiedProperties")?.as_array()?;
    props.iter().find_map(|p| {
        let new = text_ci(p, "newValue")?;
        let old = text_ci(p, "oldValue").unwrap_or_default();
        key_identifiers(&new)
            .into_iter()
            .find(|k| !old.contains(k.as_str()))
    })
}

fn key_identifiers(text: &str) -> Vec<String> {
    text.split("KeyIdentifier=")
        .skip(1)
        .filter_map(|rest| {
            let id: String = rest
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
                .collect();
            (!id.is_empty()).then_some(id)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_service_principal_sign_in() {
        let r = json!({
            "id": "s1", "createdDateTime": "2024-05-01T10:00:00Z", "appId": "app-1",
            "servicePrincipalId": "sp-1", "servicePrincipalName": "ci-deployer",
            "ipAddress": "20.1.2.3", "signInEventTypes": ["servicePrincipal"],
            "clientCredentialType": "clientSecret", "servicePrincipalCredentialKeyId": "key-9",
            "status": {"errorCode": 7000215}, "resourceDisplayName": "Microsoft Graph"
        });
        assert!(EntraSignIn.detect(&r));
        let e = EntraSignIn.parse(&r).expect("parse");
        assert_eq!(e.actor_id.as_deref(), Some("sp-1"));
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        assert_eq!(e.credential_id.as_deref(), Some("key-9"));
        assert_eq!(e.credential_kind.as_deref(), Some("clientSecret"));
        assert_eq!(e.outcome, "failure");
        assert_eq!(e.error_code.as_deref(), Some("7000215"));
        assert_eq!(e.interactive, Some(false));
    }

    #[test]
    fn a_user_sign_in_that_does_not_say_its_kind_is_not_taken_for_interactive() {
        let r = json!({
            "id": "u-1", "createdDateTime": "2026-05-02T09:00:00Z", "appId": "app-1",
            "userId": "u0000000-0000-0000-0000-000000000009", "userPrincipalName": "svc@example.com",
            "ipAddress": "198.51.100.7", "status": {"errorCode": 0}
        });
        // Graph v1.0 lists interactive sign-ins only, and says nothing more.
        let e = EntraSignIn.parse(&r).expect("parse");
        assert_eq!(e.interactive, Some(true));
        let mut r = r;
        r["isInteractive"] = Value::Null;
        let e = EntraSignIn.parse(&r).expect("parse");
        assert_eq!(e.actor_type.as_deref(), Some("user"));
        assert_eq!(
            e.interactive, None,
            "neither its log nor its event types say"
        );
        assert!(
            e.attributes
                .as_deref()
                .unwrap_or("")
                .contains(r#""sign_in_type":"user""#),
            "{:?}",
            e.attributes
        );
        let mut told = r.clone();
        told["isInteractive"] = json!(false);
        let e = EntraSignIn.parse(&told).expect("parse");
        assert_eq!(e.interactive, Some(false));
        assert!(e
            .attributes
            .as_deref()
            .unwrap_or("")
            .contains(r#""sign_in_type":"nonInteractiveUser""#));
    }

    #[test]
    fn graph_powershell_objects() {
        // `Get-MgAuditLogSignIn | ConvertTo-Json` (Windows PowerShell: .NET dates, beta
        // properties under `AdditionalProperties`) and `Get-MgAuditLogDirectoryAudit`.
        let sign_in = json!({
            "AppDisplayName": "ci-pipeline", "AppId": "app-1", "ClientAppUsed": "",
            "CreatedDateTime": "/Date(1777716000000)/", "Id": "ps-1", "IPAddress": "203.0.113.9",
            "IsInteractive": false, "ServicePrincipalId": "sp-1", "ServicePrincipalName": "ci-pipeline",
            "Status": {"ErrorCode": 0, "FailureReason": null}, "UserId": "", "UserPrincipalName": null,
            "AdditionalProperties": {"signInEventTypes": ["servicePrincipal"],
                "servicePrincipalCredentialKeyId": "key-1", "clientCredentialType": "clientSecret"}
        });
        let (format, e) = crate::logs::normalise::normalise(sign_in, None).expect("normalised");
        assert_eq!(format, Format::EntraSignIn);
        assert_eq!(e.event_time, 1_777_716_000_000_000);
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        assert_eq!(e.actor_id.as_deref(), Some("sp-1"));
        assert_eq!(e.credential_id.as_deref(), Some("key-1"));
        assert_eq!(e.outcome, "success");
        let audit = json!({
            "ActivityDateTime": "/Date(1777716060000)/", "ActivityDisplayName": "Add service principal credentials",
            "Category": "ApplicationManagement", "Id": "ps-a-1", "Result": "success",
            "InitiatedBy": {"User": {"UserPrincipalName": "carol@example.com", "Id": "u-carol"}},
            "TargetResources": [{"Id": "sp-1", "DisplayName": "ci-pipeline", "Type": "ServicePrincipal"}]
        });
        let (format, e) = crate::logs::normalise::normalise(audit, None).expect("normalised");
        assert_eq!(format, Format::EntraAudit);
        assert_eq!(e.action, "Add service principal credentials");
        assert_eq!(e.event_time, 1_777_716_060_000_000);
    }

    #[test]
    fn log_analytics_rows() {
        // Rows of the Sentinel / Log Analytics tables, as a workspace data export writes them.
        let sp = json!({
            "TenantId": "ws-tenant", "TimeGenerated": "2026-05-02T10:00:00.1234567Z",
            "Type": "AADServicePrincipalSignInLogs", "Category": "ServicePrincipalSignInLogs",
            "OperationName": "Sign-in activity", "ResultType": "7000215",
            "Id": "la-sp-1", "CorrelationId": "corr-1", "AppId": "app-1",
            "ServicePrincipalId": "sp-1", "ServicePrincipalName": "ci-deployer",
            "ServicePrincipalCredentialKeyId": "key-9", "IPAddress": "20.1.2.3",
            "Location": "US", "LocationDetails": {"city": "Boydton", "countryOrRegion": "US"},
            "ResourceDisplayName": "Microsoft Graph", "ResourceIdentity": "00000003-0000-0000-c000-000000000000"
        });
        assert!(EntraSignIn.detect(&sp) && !EntraAudit.detect(&sp));
        let e = EntraSignIn.parse(&sp).expect("parse");
        assert_eq!(e.actor_id.as_deref(), Some("sp-1"));
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        assert_eq!(e.credential_id.as_deref(), Some("key-9"));
        assert_eq!(e.event_id, "la-sp-1");
        assert_eq!(
            (e.outcome.as_str(), e.error_code.as_deref()),
            ("failure", Some("7000215"))
        );
        assert_eq!(e.source_ip.as_deref(), Some("20.1.2.3"));
        assert_eq!(e.region.as_deref(), Some("US"));
        assert_eq!(e.target.as_deref(), Some("Microsoft Graph"));
        assert_eq!(
            e.event_source.as_deref(),
            Some("ServicePrincipalSignInLogs")
        );

        let mi = json!({
            "TimeGenerated": "2026-05-02T10:05:00Z", "Type": "AADManagedIdentitySignInLogs",
            "Id": "la-mi-1", "ResultType": "0", "ServicePrincipalId": "mi-1",
            "ServicePrincipalName": "vm-payments", "AppId": "app-mi", "ResourceDisplayName": "Azure Key Vault"
        });
        let e = EntraSignIn.parse(&mi).expect("parse");
        assert_eq!(e.actor_type.as_deref(), Some("managedIdentity"));
        assert_eq!(
            (e.outcome.as_str(), e.interactive),
            ("success", Some(false))
        );

        let user = json!({
            "TimeGenerated": "2026-05-02T10:06:00Z", "Type": "SigninLogs", "Id": "la-u-1",
            "CreatedDateTime": "2026-05-02T10:05:59Z", "UserPrincipalName": "alice@example.com",
            "UserId": "u-1", "AppId": "app-portal", "AppDisplayName": "Azure Portal",
            "IPAddress": "198.51.100.7", "IsInteractive": true, "ResultType": "0",
            "Status": {"errorCode": 0}, "UserAgent": "Mozilla/5.0"
        });
        let e = EntraSignIn.parse(&user).expect("parse");
        assert_eq!(e.actor_id.as_deref(), Some("u-1"));
        assert_eq!(e.interactive, Some(true));
        assert_eq!(
            e.event_time,
            fields::timestamp(&json!("2026-05-02T10:05:59Z")).expect("t")
        );

        let audit = json!({
            "TenantId": "t-1", "TimeGenerated": "2026-05-02T11:00:00Z", "Type": "AuditLogs",
            "Category": "ApplicationManagement", "OperationName": "Add service principal credentials",
            "ActivityDisplayName": "Add service principal credentials", "Id": "Directory_9",
            "Result": "success", "LoggedByService": "Core Directory", "CorrelationId": "corr-9",
            "InitiatedBy": {"user": {"id": "u-2", "userPrincipalName": "carol@example.com", "ipAddress": "203.0.113.5"}},
            "TargetResources": [{"id": "sp-1", "displayName": "ci-deployer", "type": "ServicePrincipal",
                "modifiedProperties": [{"displayName": "KeyDescription", "oldValue": "[]",
                    "newValue": "[\"[KeyIdentifier=0a0b0c0d-0000-4000-8000-000000000009,KeyType=Password,KeyUsage=Verify,DisplayName=ci]\"]"}]}]
        });
        assert!(EntraAudit.detect(&audit) && !EntraSignIn.detect(&audit));
        let e = EntraAudit.parse(&audit).expect("parse");
        assert_eq!(e.actor.as_deref(), Some("carol@example.com"));
        assert_eq!(e.source_ip.as_deref(), Some("203.0.113.5"));
        assert_eq!(e.target.as_deref(), Some("sp-1"));
        assert_eq!(
            e.issued_credential_id.as_deref(),
            Some("0a0b0c0d-0000-4000-8000-000000000009")
        );
        // `Type` of another table is not Entra's.
        assert!(!EntraAudit.detect(&json!({"Type": "AzureActivity", "TimeGenerated": "x"})));
    }

    #[test]
    fn audit_credential_addition_is_an_issuance() {
        let r = json!({
            "time": "2024-05-01T10:00:00Z", "category": "AuditLogs", "tenantId": "t-1",
            "operationName": "Update application – Certificates and secrets management ",
            "properties": {
                "id": "Directory_1", "activityDateTime": "2024-05-01T10:00:00Z",
                "activityDisplayName": "Update application – Certificates and secrets management ",
                "initiatedBy": {"user": {"id": "u-1", "userPrincipalName": "bob@example.com", "ipAddress": "1.2.3.4"}},
                "targetResources": [{"id": "app-obj-1", "displayName": "billing", "type": "Application",
                    "modifiedProperties": [{"displayName": "KeyDescription",
                        "oldValue": "[]",
                        "newValue": "[\"[KeyIdentifier=4f1c7e2a-0000-4000-8000-000000000001,KeyType=Password,KeyUsage=Verify,DisplayName=ci]\"]"}]}],
                "result": "success"
            }
        });
        assert!(!EntraSignIn.detect(&r));
        assert!(EntraAudit.detect(&r));
        let e = EntraAudit.parse(&r).expect("parse");
        assert_eq!(e.actor.as_deref(), Some("bob@example.com"));
        assert_eq!(e.target.as_deref(), Some("app-obj-1"));
        assert_eq!(
            e.issued_credential_id.as_deref(),
            Some("4f1c7e2a-0000-4000-8000-000000000001")
        );
        assert_eq!(e.tenant, "t-1");
    }
}
