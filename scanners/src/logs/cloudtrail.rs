//! AWS CloudTrail records (S3 delivery files, NDJSON, arrays, LookupEvents and CloudTrail Lake
//! after [`super::unwrap_envelope`]). `userIdentity` types: IAMUser, AssumedRole (the role is
//! `sessionContext.sessionIssuer.arn`, or derived from the `assumed-role` ARN), Root,
//! AWSService, AWSAccount, FederatedUser, WebIdentityUser, SAMLUser, IdentityCenterUser.
//! `sourceIPAddress` may be a service name (`ec2.amazonaws.com`). Credentials minted by the
//! call (AssumeRole*, GetSessionToken, GetFederationToken, CreateAccessKey, ...) become
//! `issued_credential_id`, the link correlation follows from an `ASIA` key back to its issuer.
//! Some pipelines (Athena, data lakes) lower-case every key (`eventname`, `useridentity`):
//! such records are read with case-insensitive lookups.

use nhiscope_engine::model::EventRow;
use serde_json::Value;

use super::fields::{self, at_ci, first_ci as first, text_ci as text};
use super::{Format, LogParser, Reject};

pub struct CloudTrail;

impl LogParser for CloudTrail {
    fn format(&self) -> Format {
        Format::CloudTrail
    }

    fn detect(&self, r: &Value) -> bool {
        let Some(o) = r.as_object() else { return false };
        if o.contains_key("eventName") {
            return o.contains_key("eventVersion")
                || o.contains_key("eventSource")
                || o.contains_key("userIdentity");
        }
        o.contains_key("eventname")
            && (o.contains_key("eventsource") || o.contains_key("eventversion"))
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let action = text(r, "eventName").ok_or_else(|| Reject::missing("eventName"))?;
        let event_time = at_ci(r, "eventTime")
            .and_then(fields::timestamp)
            .ok_or_else(|| Reject::missing("eventTime"))?;
        let id = at_ci(r, "userIdentity").cloned().unwrap_or(Value::Null);
        let actor_type = text(&id, "type");
        let arn = text(&id, "arn");
        let issuer = text(&id, "sessionContext.sessionIssuer.arn");
        let account = first(r, &["recipientAccountId", "userIdentity.accountId"]);
        let actor_id = match actor_type.as_deref() {
            Some("AssumedRole") => issuer
                .clone()
                .or_else(|| arn.as_deref().and_then(role_of_session)),
            Some("FederatedUser") => issuer.clone().or_else(|| arn.clone()),
            Some("AWSService") => text(&id, "invokedBy"),
            Some("AWSAccount") => text(&id, "accountId"),
            Some("WebIdentityUser") | Some("SAMLUser") => first(&id, &["userName", "principalId"]),
            Some("IdentityCenterUser") => text(&id, "onBehalfOf.userId"),
            _ => arn.clone(),
        };
        let actor = arn
            .clone()
            .or_else(|| first(&id, &["principalId", "invokedBy", "userName"]));
        let credential_id = text(&id, "accessKeyId");
        let credential_kind = credential_id.as_deref().map(key_kind);
        let error_code = text(r, "errorCode");
        let console_failed = text(r, "responseElements.ConsoleLogin")
            .is_some_and(|s| s.eq_ignore_ascii_case("failure"));
        let outcome = if error_code.is_some() || console_failed {
            "failure"
        } else {
            "success"
        };
        let user_agent = text(r, "userAgent");
        let interactive = if action == "ConsoleLogin"
            || fields::flag(
                &id,
                "sessionContext.attributes.sessionCredentialFromConsole",
            ) == Some(true)
            || text(r, "sessionCredentialFromConsole").is_some_and(|s| s == "true")
        {
            Some(true)
        } else {
            None
        };
        let mut chain = Vec::new();
        if let Some(p) = text(&id, "webIdFederationData.federatedProvider") {
            chain.push(p);
        }
        if let Some(s) = text(&id, "sessionContext.sourceIdentity") {
            chain.push(s);
        }
        let attributes = fields::attributes(&[
            ("event_type", at_ci(r, "eventType").cloned()),
            ("read_only", at_ci(r, "readOnly").cloned()),
            (
                "mfa",
                at_ci(&id, "sessionContext.attributes.mfaAuthenticated")
                    .cloned()
                    .or_else(|| at_ci(r, "additionalEventData.MFAUsed").cloned()),
            ),
            ("principal_id", at_ci(&id, "principalId").cloned()),
            (
                "session_name",
                session_name(arn.as_deref()).map(Value::from),
            ),
            ("invoked_by", at_ci(&id, "invokedBy").cloned()),
            ("vpc_endpoint", at_ci(r, "vpcEndpointId").cloned()),
            ("user_account", at_ci(&id, "accountId").cloned()),
        ]);
        Ok(EventRow {
            provider: "aws".into(),
            tenant: account.unwrap_or_default(),
            event_id: text(r, "eventID").unwrap_or_else(|| fields::digest(r)),
            event_time,
            source_format: Format::CloudTrail.name().into(),
            event_source: text(r, "eventSource"),
            action,
            actor_type,
            actor,
            actor_id,
            credential_id,
            credential_kind: credential_kind.map(str::to_string),
            session_issuer: issuer,
            chain,
            target: target(r).map(|t| fields::redact(&t)),
            region: text(r, "awsRegion"),
            source_ip: text(r, "sourceIPAddress").map(|s| fields::ip(&s)),
            user_agent: user_agent.map(|u| fields::redact(&u)),
            interactive,
            outcome: outcome.into(),
            error_code,
            request_id: first(r, &["requestID", "requestId"]),
            issued_credential_id: first(
                r,
                &[
                    "responseElements.credentials.accessKeyId",
                    "responseElements.accessKey.accessKeyId",
                    "responseElements.serviceSpecificCredential.serviceSpecificCredentialId",
                    "responseElements.sSHPublicKey.sSHPublicKeyId",
                    "responseElements.certificate.certificateId",
                ],
            ),
            raw_ref: String::new(),
            attributes,
        })
    }
}

/// `access_key` for long-term keys (`AKIA`), `session` for temporary ones (`ASIA`).
pub fn key_kind(id: &str) -> &'static str {
    if id.starts_with("ASIA") {
        "session"
    } else {
        "access_key"
    }
}

/// The role ARN behind an assumed-role session ARN
/// (`arn:aws:sts::1:assumed-role/R/s` → `arn:aws:iam::1:role/R`; the role's path is not in
/// the session ARN, correlation matches roles by account and name).
pub fn role_of_session(arn: &str) -> Option<String> {
    let (head, rest) = arn.split_once(":assumed-role/")?;
    let role = rest.split('/').next()?;
    let account = head.rsplit(':').next()?;
    let partition = head.split(':').nth(1).unwrap_or("aws");
    Some(format!("arn:{partition}:iam::{account}:role/{role}"))
}

fn session_name(arn: Option<&str>) -> Option<String> {
    let rest = arn?.split_once(":assumed-role/")?.1;
    rest.split_once('/').map(|(_, s)| s.to_string())
}

/// The resource acted on: the first `resources[].ARN`, else a well-known request parameter.
fn target(r: &Value) -> Option<String> {
    if let Some(arn) = at_ci(r, "resources")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|x| first(x, &["ARN", "arn"]))
    {
        return Some(arn);
    }
    first(
        r,
        &[
            "requestParameters.roleArn",
            "requestParameters.policyArn",
            "requestParameters.userName",
            "requestParameters.roleName",
            "requestParameters.groupName",
            "requestParameters.bucketName",
            "requestParameters.functionName",
            "requestParameters.secretId",
            "requestParameters.name",
            "requestParameters.keyId",
            "requestParameters.instanceId",
            "requestParameters.trailName",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assumed_role_session_resolves_to_its_role() {
        let r = json!({
            "eventVersion": "1.08", "eventID": "e1", "eventTime": "2024-07-30T21:53:13Z",
            "eventSource": "s3.amazonaws.com", "eventName": "GetObject", "awsRegion": "eu-west-1",
            "sourceIPAddress": "ec2.amazonaws.com", "userAgent": "aws-sdk-go/1.44",
            "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE",
                "arn": "arn:aws:sts::111122223333:assumed-role/app/i-0abc",
                "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::111122223333:role/svc/app"},
                                   "attributes": {"mfaAuthenticated": "false"}}},
            "requestParameters": {"bucketName": "data"}, "errorCode": "AccessDenied"
        });
        let e = CloudTrail.parse(&r).expect("parse");
        assert_eq!(
            e.actor_id.as_deref(),
            Some("arn:aws:iam::111122223333:role/svc/app")
        );
        assert_eq!(e.credential_kind.as_deref(), Some("session"));
        assert_eq!(e.source_ip.as_deref(), Some("ec2.amazonaws.com"));
        assert_eq!(e.outcome, "failure");
        assert_eq!(e.target.as_deref(), Some("data"));
        assert!(e.attributes.as_deref().unwrap_or("").contains("i-0abc"));
    }

    #[test]
    fn assume_role_response_is_the_issuance_link() {
        let r = json!({
            "eventName": "AssumeRole", "eventSource": "sts.amazonaws.com",
            "eventTime": "2024-07-30T21:53:13Z",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::1:user/ci", "accessKeyId": "AKIACI"},
            "requestParameters": {"roleArn": "arn:aws:iam::1:role/deploy"},
            "responseElements": {"credentials": {"accessKeyId": "ASIANEW", "sessionToken": "SECRET"}}
        });
        let e = CloudTrail.parse(&r).expect("parse");
        assert_eq!(e.issued_credential_id.as_deref(), Some("ASIANEW"));
        assert_eq!(e.target.as_deref(), Some("arn:aws:iam::1:role/deploy"));
        assert!(e.event_id.starts_with("h:"));
        assert!(!format!("{e:?}").contains("SECRET"));
    }

    #[test]
    fn missing_time_is_rejected_by_name() {
        let r = json!({"eventName": "X", "eventSource": "iam.amazonaws.com"});
        assert_eq!(CloudTrail.parse(&r), Err(Reject::missing("eventTime")));
        assert_eq!(
            role_of_session("arn:aws:sts::1:assumed-role/R/s"),
            Some("arn:aws:iam::1:role/R".into())
        );
    }
}
