//! Leaf (server) certificates signed by the local CA: what tests and the traffic
//! generator use; in the cluster cert-manager issues them from the same CA.

use super::TlsError;
use super::ca::Ca;
use rcgen::{
    CertificateParams, DnType, ExtendedKeyUsagePurpose, KeyPair, KeyUsagePurpose,
    PKCS_ECDSA_P256_SHA256,
};
use time::{Duration, OffsetDateTime};

/// Issues a server certificate for `names` (DNS names or IP addresses), valid
/// for 90 days. Returns (certificate PEM, private key PEM).
///
/// It signs whatever it is given: a name outside the CA's constraints yields a
/// certificate that verifiers reject, which is what the constraints are for.
pub fn issue_leaf(ca: &Ca, names: &[&str]) -> Result<(String, String), TlsError> {
    let error = |what: &str| {
        let what = what.to_string();
        move |e| TlsError::Certificate { what, source: e }
    };
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let mut params =
        CertificateParams::new(names.clone()).map_err(error("reading the leaf names"))?;
    if let Some(first) = names.first() {
        params.distinguished_name = rcgen::DistinguishedName::new();
        params.distinguished_name.push(DnType::CommonName, first);
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let now = OffsetDateTime::now_utc();
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(90);
    let key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(error("generating a leaf key"))?;
    let issuer = ca.issuer()?;
    let cert = params
        .signed_by(&key, &issuer)
        .map_err(error("signing the leaf certificate"))?;
    Ok((cert.pem(), key.serialize_pem()))
}
