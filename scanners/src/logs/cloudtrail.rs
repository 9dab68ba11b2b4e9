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
use serde::Deserialize;
use serde_json::Value;

use super::fields;
use super::lenient::{FirstItem, Leaf, Obj, Present};
use super::{Format, LogParser, Reject};

pub struct CloudTrail;

impl LogParser for CloudTrail {
    fn format(&self) -> Format {
        Format::CloudTrail
    }

    fn detect(&self, r: &Value) -> bool {
        let Some(o) = r.as_object() else { return false };
        // Each key in either spelling, as `Record` reads them (a record may mix them).
        let has = |k: &str| o.contains_key(k) || o.contains_key(&k.to_ascii_lowercase());
        has("eventName") && (has("eventVersion") || has("eventSource") || has("userIdentity"))
    }

    fn parse(&self, r: &Value) -> Result<EventRow, Reject> {
        let record =
            Record::deserialize(r).map_err(|e| Reject(format!("not a CloudTrail record: {e}")))?;
        normalise(&record, || fields::digest(r))
    }
}

/// Finds `"eventName"` (built once: building a searcher costs more than a search).
static EVENT_NAME: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"eventName\""));

/// The fast path: one CloudTrail record read straight from its JSON text, without a `Value`
/// tree. `None` when the text is not plainly a CloudTrail record this path can take (another
/// format, an envelope, no `eventID`, duplicate keys): the caller then takes the general
/// path, which gives the same event for everything this one accepts.
pub fn parse_text(text: &str) -> Option<Result<EventRow, Reject>> {
    EVENT_NAME.find(text.as_bytes())?;
    let record: Record<'_> = serde_json::from_str(text).ok()?;
    let plain = record.event_name.is_some()
        && (record.event_version.is_some() || record.event_source.is_some())
        && record.event_id.text().is_some()
        && !(record.lookup_envelope.0
            || record.lake_envelope.0
            || record.properties.0
            || record.flat_identity_type.0
            || record.flat_identity_arn.0);
    plain.then(|| normalise(&record, String::new))
}

/// The fields of a CloudTrail record nhiscope reads. Keys are also accepted all lower-case
/// (Athena and Glue pipelines lower-case every key); every field is lenient ([`Leaf`]: a
/// value of an unexpected type reads as absent rather than failing the record).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Record<'a> {
    #[serde(borrow, rename = "eventVersion", alias = "eventversion")]
    event_version: Leaf<'a>,
    #[serde(borrow, rename = "eventName", alias = "eventname")]
    event_name: Leaf<'a>,
    #[serde(borrow, rename = "eventTime", alias = "eventtime")]
    event_time: Leaf<'a>,
    #[serde(borrow, rename = "eventSource", alias = "eventsource")]
    event_source: Leaf<'a>,
    #[serde(borrow, rename = "eventID", alias = "eventid", alias = "eventId")]
    event_id: Leaf<'a>,
    #[serde(borrow, rename = "eventType", alias = "eventtype")]
    event_type: Leaf<'a>,
    #[serde(borrow, rename = "readOnly", alias = "readonly")]
    read_only: Leaf<'a>,
    #[serde(borrow, rename = "recipientAccountId", alias = "recipientaccountid")]
    recipient_account_id: Leaf<'a>,
    #[serde(borrow, rename = "awsRegion", alias = "awsregion")]
    aws_region: Leaf<'a>,
    #[serde(
        borrow,
        rename = "sourceIPAddress",
        alias = "sourceipaddress",
        alias = "sourceIpAddress"
    )]
    source_ip: Leaf<'a>,
    #[serde(borrow, rename = "userAgent", alias = "useragent")]
    user_agent: Leaf<'a>,
    #[serde(borrow, rename = "errorCode", alias = "errorcode")]
    error_code: Leaf<'a>,
    #[serde(borrow, rename = "requestID", alias = "requestId", alias = "requestid")]
    request_id: Leaf<'a>,
    #[serde(borrow, rename = "vpcEndpointId", alias = "vpcendpointid")]
    vpc_endpoint: Leaf<'a>,
    #[serde(
        borrow,
        rename = "sessionCredentialFromConsole",
        alias = "sessioncredentialfromconsole"
    )]
    credential_from_console: Leaf<'a>,
    #[serde(borrow, rename = "userIdentity", alias = "useridentity")]
    identity: Obj<Identity<'a>>,
    #[serde(borrow, rename = "additionalEventData", alias = "additionaleventdata")]
    additional: Obj<Additional<'a>>,
    #[serde(borrow, rename = "responseElements", alias = "responseelements")]
    response: Obj<Response<'a>>,
    #[serde(borrow, rename = "requestParameters", alias = "requestparameters")]
    request: Obj<Request<'a>>,
    #[serde(borrow)]
    resources: FirstItem<Resource<'a>>,
    /// Envelopes ([`super::unwrap_envelope`]): the general path unwraps them.
    #[serde(rename = "CloudTrailEvent")]
    lookup_envelope: Present,
    #[serde(rename = "eventJson")]
    lake_envelope: Present,
    properties: Present,
    /// Flattened keys (SIEM field extraction): the general path nests them.
    #[serde(rename = "userIdentity.type", alias = "useridentity.type")]
    flat_identity_type: Present,
    #[serde(rename = "userIdentity.arn", alias = "useridentity.arn")]
    flat_identity_arn: Present,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Identity<'a> {
    #[serde(borrow, rename = "type")]
    kind: Leaf<'a>,
    #[serde(borrow)]
    arn: Leaf<'a>,
    #[serde(borrow, rename = "principalId", alias = "principalid")]
    principal_id: Leaf<'a>,
    #[serde(borrow, rename = "accountId", alias = "accountid")]
    account_id: Leaf<'a>,
    #[serde(borrow, rename = "accessKeyId", alias = "accesskeyid")]
    access_key_id: Leaf<'a>,
    #[serde(borrow, rename = "userName", alias = "username")]
    user_name: Leaf<'a>,
    #[serde(borrow, rename = "invokedBy", alias = "invokedby")]
    invoked_by: Leaf<'a>,
    #[serde(borrow, rename = "sessionContext", alias = "sessioncontext")]
    session: Obj<Session<'a>>,
    #[serde(borrow, rename = "webIdFederationData", alias = "webidfederationdata")]
    web_identity: Obj<WebIdentity<'a>>,
    #[serde(borrow, rename = "onBehalfOf", alias = "onbehalfof")]
    on_behalf_of: Obj<OnBehalfOf<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Session<'a> {
    #[serde(borrow, rename = "sessionIssuer", alias = "sessionissuer")]
    issuer: Obj<Arn<'a>>,
    #[serde(borrow)]
    attributes: Obj<SessionAttributes<'a>>,
    #[serde(borrow, rename = "sourceIdentity", alias = "sourceidentity")]
    source_identity: Leaf<'a>,
    #[serde(borrow, rename = "webIdFederationData", alias = "webidfederationdata")]
    web_identity: Obj<WebIdentity<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SessionAttributes<'a> {
    #[serde(borrow, rename = "mfaAuthenticated", alias = "mfaauthenticated")]
    mfa: Leaf<'a>,
    #[serde(
        borrow,
        rename = "sessionCredentialFromConsole",
        alias = "sessioncredentialfromconsole"
    )]
    from_console: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct WebIdentity<'a> {
    #[serde(borrow, rename = "federatedProvider", alias = "federatedprovider")]
    provider: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OnBehalfOf<'a> {
    #[serde(borrow, rename = "userId", alias = "userid")]
    user_id: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Arn<'a> {
    #[serde(borrow, alias = "ARN")]
    arn: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Resource<'a> {
    #[serde(borrow, rename = "ARN")]
    upper: Leaf<'a>,
    #[serde(borrow, rename = "arn")]
    lower: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Additional<'a> {
    #[serde(borrow, rename = "MFAUsed", alias = "mfaused")]
    mfa_used: Leaf<'a>,
}

/// The parts of `responseElements` that name a credential the call minted (never the
/// secret parts next to them, which are skipped unread).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Response<'a> {
    #[serde(borrow, rename = "ConsoleLogin", alias = "consolelogin")]
    console_login: Leaf<'a>,
    #[serde(borrow)]
    credentials: Obj<KeyRef<'a>>,
    #[serde(borrow, rename = "accessKey", alias = "accesskey")]
    access_key: Obj<KeyRef<'a>>,
    #[serde(
        borrow,
        rename = "serviceSpecificCredential",
        alias = "servicespecificcredential"
    )]
    service_credential: Obj<ServiceCredential<'a>>,
    #[serde(borrow, rename = "sSHPublicKey", alias = "sshpublickey")]
    ssh_key: Obj<SshKey<'a>>,
    #[serde(borrow)]
    certificate: Obj<Certificate<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct KeyRef<'a> {
    #[serde(borrow, rename = "accessKeyId", alias = "accesskeyid")]
    access_key_id: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ServiceCredential<'a> {
    #[serde(
        borrow,
        rename = "serviceSpecificCredentialId",
        alias = "servicespecificcredentialid"
    )]
    id: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SshKey<'a> {
    #[serde(borrow, rename = "sSHPublicKeyId", alias = "sshpublickeyid")]
    id: Leaf<'a>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Certificate<'a> {
    #[serde(borrow, rename = "certificateId", alias = "certificateid")]
    id: Leaf<'a>,
}

/// Request parameters that name the resource acted on, in order of preference.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Request<'a> {
    #[serde(borrow, rename = "roleArn", alias = "rolearn")]
    role_arn: Leaf<'a>,
    #[serde(borrow, rename = "policyArn", alias = "policyarn")]
    policy_arn: Leaf<'a>,
    #[serde(borrow, rename = "userName", alias = "username")]
    user_name: Leaf<'a>,
    #[serde(borrow, rename = "roleName", alias = "rolename")]
    role_name: Leaf<'a>,
    #[serde(borrow, rename = "groupName", alias = "groupname")]
    group_name: Leaf<'a>,
    #[serde(borrow, rename = "bucketName", alias = "bucketname")]
    bucket_name: Leaf<'a>,
    #[serde(borrow, rename = "functionName", alias = "functionname")]
    function_name: Leaf<'a>,
    #[serde(borrow, rename = "secretId", alias = "secretid")]
    secret_id: Leaf<'a>,
    #[serde(borrow)]
    name: Leaf<'a>,
    #[serde(borrow, rename = "keyId", alias = "keyid")]
    key_id: Leaf<'a>,
    #[serde(borrow, rename = "instanceId", alias = "instanceid")]
    instance_id: Leaf<'a>,
    #[serde(borrow, rename = "trailName", alias = "trailname")]
    trail_name: Leaf<'a>,
}

impl Request<'_> {
    fn target(&self) -> Option<String> {
        [
            &self.role_arn,
            &self.policy_arn,
            &self.user_name,
            &self.role_name,
            &self.group_name,
            &self.bucket_name,
            &self.function_name,
            &self.secret_id,
            &self.name,
            &self.key_id,
            &self.instance_id,
            &self.trail_name,
        ]
        .into_iter()
        .find_map(Leaf::string)
    }
}

/// The first of `leaves` that has text.
fn first(leaves: &[Option<&Leaf<'_>>]) -> Option<String> {
    leaves.iter().flatten().find_map(|l| l.string())
}

/// One record → its event. `digest` names records without an `eventID`.
fn normalise(r: &Record<'_>, digest: impl FnOnce() -> String) -> Result<EventRow, Reject> {
    let action = r
        .event_name
        .string()
        .ok_or_else(|| Reject::missing("eventName"))?;
    let event_time = r
        .event_time
        .value()
        .as_ref()
        .and_then(fields::timestamp)
        .ok_or_else(|| Reject::missing("eventTime"))?;
    let none = Identity::default();
    let id = r.identity.get().unwrap_or(&none);
    let session = id.session.get();
    let actor_type = id.kind.string();
    let arn = id.arn.string();
    let issuer = session
        .and_then(|s| s.issuer.get())
        .and_then(|i| i.arn.string());
    let account = first(&[Some(&r.recipient_account_id), Some(&id.account_id)]);
    let actor_id = match actor_type.as_deref() {
        Some("AssumedRole") => issuer
            .clone()
            .or_else(|| arn.as_deref().and_then(role_of_session)),
        Some("FederatedUser") => issuer.clone().or_else(|| arn.clone()),
        Some("AWSService") => id.invoked_by.string(),
        Some("AWSAccount") => id.account_id.string(),
        Some("WebIdentityUser") | Some("SAMLUser") => {
            first(&[Some(&id.user_name), Some(&id.principal_id)])
        }
        Some("IdentityCenterUser") => id.on_behalf_of.get().and_then(|o| o.user_id.string()),
        _ => arn.clone(),
    };
    let actor = arn.clone().or_else(|| {
        first(&[
            Some(&id.principal_id),
            Some(&id.invoked_by),
            Some(&id.user_name),
        ])
    });
    let credential_id = id.access_key_id.string();
    let credential_kind = credential_id.as_deref().map(key_kind);
    let error_code = r.error_code.string();
    let response = r.response.get();
    let console_failed = response
        .and_then(|x| x.console_login.text())
        .is_some_and(|s| s.eq_ignore_ascii_case("failure"));
    let outcome = if error_code.is_some() || console_failed {
        "failure"
    } else {
        "success"
    };
    let attributes_of_session = session.and_then(|s| s.attributes.get());
    let interactive = if action == "ConsoleLogin"
        || attributes_of_session.and_then(|a| a.from_console.flag()) == Some(true)
        || r.credential_from_console
            .text()
            .is_some_and(|s| s == "true")
    {
        Some(true)
    } else {
        None
    };
    let mut chain = Vec::new();
    let web_identity = id
        .web_identity
        .get()
        .or_else(|| session.and_then(|s| s.web_identity.get()));
    if let Some(p) = web_identity.and_then(|w| w.provider.string()) {
        chain.push(p);
    }
    if let Some(s) = session.and_then(|s| s.source_identity.string()) {
        chain.push(s);
    }
    let mfa = attributes_of_session
        .and_then(|a| a.mfa.value())
        .or_else(|| r.additional.get().and_then(|a| a.mfa_used.value()));
    let attributes = fields::attributes(&[
        ("event_type", r.event_type.value()),
        ("read_only", r.read_only.flag().map(Value::Bool)),
        ("mfa", mfa),
        ("principal_id", id.principal_id.value()),
        (
            "session_name",
            session_name(arn.as_deref()).map(Value::from),
        ),
        ("invoked_by", id.invoked_by.value()),
        ("vpc_endpoint", r.vpc_endpoint.value()),
        ("user_account", id.account_id.value()),
    ]);
    let issued_credential_id = response.and_then(|x| {
        first(&[
            x.credentials.get().map(|k| &k.access_key_id),
            x.access_key.get().map(|k| &k.access_key_id),
            x.service_credential.get().map(|c| &c.id),
            x.ssh_key.get().map(|k| &k.id),
            x.certificate.get().map(|c| &c.id),
        ])
    });
    let target = r
        .resources
        .0
        .as_ref()
        .and_then(|x| first(&[Some(&x.upper), Some(&x.lower)]))
        .or_else(|| r.request.get().and_then(Request::target));
    Ok(EventRow {
        provider: "aws".into(),
        tenant: account.unwrap_or_default(),
        event_id: r.event_id.string().unwrap_or_else(digest),
        event_time,
        source_format: Format::CloudTrail.name().into(),
        event_source: r.event_source.string(),
        action,
        actor_type,
        actor,
        actor_id,
        credential_id,
        credential_kind: credential_kind.map(str::to_string),
        session_issuer: issuer,
        chain,
        target: target.map(|t| redacted(&t)),
        region: r.aws_region.string(),
        source_ip: r.source_ip.text().map(|s| fields::ip(&s)),
        user_agent: r.user_agent.text().map(|u| redacted(&u)),
        interactive,
        outcome: outcome.into(),
        error_code,
        request_id: r.request_id.string(),
        issued_credential_id,
        raw_ref: String::new(),
        attributes,
    })
}

/// [`fields::redact`], skipping the work for text with nothing to redact.
fn redacted(text: &str) -> String {
    if text.contains('?') || text.contains("eyJ") {
        fields::redact(text)
    } else {
        text.to_string()
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_in_mixed_spellings_are_detected_as_the_fast_path_reads_them() {
        // Found by the `cloudtrail_text` fuzz target: the fast path took this record (it reads
        // every key in either spelling) while detection did not.
        let text = r#"{"eventsource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
            "eventID": "ct-0002", "awsRegion": "eu-west-1"}"#;
        assert!(parse_text(text).is_some());
        let v: Value = serde_json::from_str(text).expect("json");
        assert!(CloudTrail.detect(&v));
        assert!(!CloudTrail.detect(&json!({"eventName": "X", "eventID": "e"})));
    }

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
