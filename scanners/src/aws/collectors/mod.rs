//! The AWS IAM collectors, one per module, listed explicitly in [`all`].

pub mod access_keys;
pub mod authorization_details;
pub mod credential_report;
pub mod federation_providers;
pub mod mfa_devices;
pub mod server_certificates;
pub mod service_specific_credentials;
pub mod signing_certificates;
pub mod ssh_public_keys;

use super::context::AwsContext;
use crate::collector::Collector;

/// Every AWS collector, in the order they are reported.
pub fn all() -> Vec<Box<dyn Collector<AwsContext>>> {
    vec![
        Box::new(authorization_details::AuthorizationDetails),
        Box::new(credential_report::CredentialReportCollector),
        Box::new(federation_providers::FederationProviders),
        Box::new(server_certificates::ServerCertificates),
        Box::new(access_keys::AccessKeys),
        Box::new(mfa_devices::MfaDevices),
        Box::new(ssh_public_keys::SshPublicKeys),
        Box::new(signing_certificates::SigningCertificates),
        Box::new(service_specific_credentials::ServiceSpecificCredentials),
    ]
}
