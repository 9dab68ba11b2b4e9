//! Azure activity logs, as Azure Monitor diagnostic records (`time`, `operationName`,
//! `resultType`, `callerIpAddress`, `identity.claims`) and as the REST API's event data
//! (`eventTimestamp`, `operationName.value`, `status.value`, `caller`, `claims`,
//! `httpRequest.clientIpAddress`), in camelCase or in the snake_case of the Azure SDKs'
//! exports (`event_timestamp`, `operation_name`, `event_data_id`). The tenant is the subscription (so one identity acting in
//! differently tagged subscriptions shows), else the directory tenant.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at_ci, first_ci, text_ci};
use super::{Format, LogParser, Reject};

const OID: &str = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const UPN: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
const EMAIL: &str = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

pub struct AzureActivity;

impl LogParser for AzureActivity {
    fn format(&self) -> Format {
        Format::AzureActivity
    }

    fn detect(&self, r: &Value) -> bool {
        pick(r, &["operationName", "operation_name"]).is_some()
            && pick(r, &["resourceId", "resource_id", "category"]).is_some()
            && pick(r, &["time", "eventTimestamp", "event_timestamp"]).is_some()
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let action = pick(r, &["operationName", "operation_name"])
            .ok_or_else(|| Reject::missing("operationName"))?;
        let event_time = ["time", "eventTimestamp", "event_timestamp"]
            .iter()
            .find_map(|k| at_ci(r, k).and_then(fields::timestamp))
            .ok_or_else(|| Reject::missing("time"))?;
        let claims = at_ci(r, "identity.claims")
            .or_else(|| at_ci(r, "claims"))
            .cloned()
            .unwrap_or(Value::Null);
        let claim = |k: &str| claims.get(k).and_then(fields::as_text);
        let app = claim("appid");
        let is_app = claim("idtyp").is_some_and(|t| t == "app")
            || (app.is_some() && claim(UPN).is_none() && claim("upn").is_none());
        let actor = claim(UPN)
            .or_else(|| claim("upn"))
            .or_else(|| claim(EMAIL))
            .or_else(|| text_ci(r, "caller"))
            .or_else(|| app.clone());
        let actor_id = claim(OID)
            .or_else(|| claim("oid"))
            .or_else(|| text_ci(r, "identity.authorization.evidence.principalId"));
        let status = pick(r, &["resultType", "status"]);
        let outcome = match status.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("success") | Some("succeeded") => "success",
            Some("failure") | Some("failed") => "failure",
            _ => "unknown",
        };
        let resource = pick(r, &["resourceId", "resource_id"]);
        let tenant = resource
            .as_deref()
            .and_then(subscription_of)
            .or_else(|| {
                pick(
                    r,
                    &["subscriptionId", "subscription_id", "tenantId", "tenant_id"],
                )
            })
            .unwrap_or_default();
        let attributes = fields::attributes(&[
            ("category", pick(r, &["category"]).map(Value::from)),
            ("app_id", app.clone().map(Value::from)),
            ("level", at_ci(r, "level").cloned()),
            ("status", status.clone().map(Value::from)),
            (
                "directory_tenant",
                pick(r, &["tenantId", "tenant_id"]).map(Value::from),
            ),
        ]);
        Ok(EventRow {
            provider: "azure".into(),
            tenant,
            event_id: pick(
                r,
                &["eventDataId", "event_data_id", "properties.eventDataId"],
            )
            .unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::AzureActivity.name().into(),
            event_source: action.split('/').next().map(str::to_string),
            action,
            actor_type: actor
                .as_ref()
                .map(|_| if is_app { "servicePrincipal" } else { "user" }.to_string()),
            actor,
            actor_id,
            credential_id: None,
            credential_kind: None,
            session_issuer: None,
            chain: Vec::new(),
            target: resource,
            region: first_ci(r, &["location"]),
            source_ip: first_ci(
                r,
                &[
                    "callerIpAddress",
                    "httpRequest.clientIpAddress",
                    "http_request.client_ip_address",
                ],
            )
            .map(|s| fields::ip(&s)),
            user_agent: None,
            interactive: None,
            outcome: outcome.into(),
            error_code: (outcome == "failure")
                .then(|| {
                    pick(
                        r,
                        &[
                            "resultSignature",
                            "properties.statusCode",
                            "subStatus",
                            "sub_status",
                        ],
                    )
                })
                .flatten(),
            request_id: pick(r, &["correlationId", "correlation_id"]),
            issued_credential_id: None,
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// The first of `names` with text, where `{"value": ..., "localizedValue": ...}` objects count
/// as their `value`; keys match case-insensitively.
fn pick(r: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| {
        let v = at_ci(r, n)?;
        fields::as_text(v).or_else(|| v.get("value").and_then(fields::as_text))
    })
}

/// `/subscriptions/<id>/...` → `<id>` (lower case: exports spell it both ways).
fn subscription_of(resource: &str) -> Option<String> {
    let lower = resource.to_ascii_lowercase();
    let rest = lower.strip_prefix("/subscriptions/")?;
    rest.split('/').next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diagnostic_record_with_app_claims() {
        let r = json!({
            "time": "2024-12-17T10:30:00.0000000Z",
            "resourceId": "/SUBSCRIPTIONS/AAAA-1/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.KEYVAULT/VAULTS/KV",
            "operationName": "MICROSOFT.KEYVAULT/VAULTS/WRITE", "category": "Administrative",
            "resultType": "Success", "callerIpAddress": "52.1.2.3", "correlationId": "c-1",
            "identity": {"claims": {"appid": "app-7", "idtyp": "app", OID: "sp-obj-7"}}
        });
        assert!(AzureActivity.detect(&r));
        let e = AzureActivity.parse(&r).expect("parse");
        assert_eq!(e.tenant, "aaaa-1");
        assert_eq!(e.actor_id.as_deref(), Some("sp-obj-7"));
        assert_eq!(e.actor_type.as_deref(), Some("servicePrincipal"));
        assert_eq!(e.outcome, "success");
        assert_eq!(e.request_id.as_deref(), Some("c-1"));
    }

    #[test]
    fn sdk_snake_case_export() {
        let r = json!({
            "event_timestamp": "2022-02-09T03:04:54.297853Z", "event_data_id": "ev-1",
            "operation_name": {"value": "Microsoft.Compute/disks/delete"},
            "status": {"value": "Failed"}, "sub_status": {"value": "Conflict"},
            "resource_id": "/subscriptions/sub-9/resourceGroups/rg", "caller": "someone@example.com",
            "http_request": {"client_ip_address": "1.2.3.4"}, "correlation_id": "c-9"
        });
        assert!(AzureActivity.detect(&r));
        let e = AzureActivity.parse(&r).expect("parse");
        assert_eq!(e.event_id, "ev-1");
        assert_eq!(e.action, "Microsoft.Compute/disks/delete");
        assert_eq!(e.outcome, "failure");
        assert_eq!(e.error_code.as_deref(), Some("Conflict"));
        assert_eq!(e.tenant, "sub-9");
        assert_eq!(e.source_ip.as_deref(), Some("1.2.3.4"));
    }
}
