//! The SIP TLS identity: the certificate chain (`sip.tls_cert`) and private key
//! (`sip.tls_key`), PEM files read when the configuration is loaded, so that
//! `kefu check-config` and start-up both refuse a missing file, a file without
//! the expected PEM section, or a key that does not belong to the certificate,
//! with one line naming the key and the file. The result is a ready
//! `rustls::ServerConfig` (ring provider, TLS 1.2 and 1.3).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

use super::ConfigError;

/// SIP over TLS: where it listens and the identity it presents.
#[derive(Debug, Clone)]
pub struct SipTls {
    /// The TLS listener's address (`sip.tls_listen`).
    pub listen: super::ListenAddr,
    /// The certificate chain file (`sip.tls_cert`).
    pub cert: PathBuf,
    /// The private key file (`sip.tls_key`).
    pub key: PathBuf,
    /// The rustls configuration built from them.
    pub server: Arc<ServerConfig>,
}

/// Reads `cert` and `key` into a server configuration.
pub(super) fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, ConfigError> {
    let chain = certificates(cert)?;
    let private_key = private_key(key)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|error| file_error("sip.tls_cert", cert, error))?
        .with_no_client_auth()
        .with_single_cert(chain, private_key)
        .map_err(|error| ConfigError::File {
            key: "sip.tls_key",
            reason: format!(
                "{} cannot be used with the certificate in {}: {error}",
                key.display(),
                cert.display()
            ),
        })?;
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
    let pem = read("sip.tls_cert", path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| file_error("sip.tls_cert", path, error))?;
    if chain.is_empty() {
        return Err(file_error(
            "sip.tls_cert",
            path,
            "no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
        ));
    }
    Ok(chain)
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, ConfigError> {
    let pem = read("sip.tls_key", path)?;
    PrivateKeyDer::from_pem_slice(&pem).map_err(|error| match error {
        rustls::pki_types::pem::Error::NoItemsFound => file_error(
            "sip.tls_key",
            path,
            "no PEM private key (PKCS#8, PKCS#1 or SEC1) in it",
        ),
        other => file_error("sip.tls_key", path, other),
    })
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, ConfigError> {
    std::fs::read(path).map_err(|error| ConfigError::File {
        key,
        reason: format!("cannot read {}: {error}", path.display()),
    })
}

fn file_error(key: &'static str, path: &Path, reason: impl std::fmt::Display) -> ConfigError {
    ConfigError::File {
        key,
        reason: format!("{}: {reason}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Self {
            Files {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    fn self_signed() -> rcgen::CertifiedKey<rcgen::KeyPair> {
        rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap()
    }

    #[test]
    fn a_matching_certificate_and_key_make_a_server_config() {
        let files = Files::new();
        let certified = self_signed();
        let cert = files.write("cert.pem", &certified.cert.pem());
        let key = files.write("key.pem", &certified.signing_key.serialize_pem());
        server_config(&cert, &key).unwrap();
    }

    #[test]
    fn a_missing_file_is_named_with_its_key() {
        let files = Files::new();
        let key = files.write("key.pem", &self_signed().signing_key.serialize_pem());
        let err = server_config(Path::new("/nonexistent/cert.pem"), &key)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("config error: sip.tls_cert: cannot read /nonexistent/cert.pem: "),
            "{err}"
        );
    }

    #[test]
    fn files_without_the_expected_pem_section_are_refused() {
        let files = Files::new();
        let certified = self_signed();
        let cert = files.write("cert.pem", &certified.cert.pem());
        let key = files.write("key.pem", &certified.signing_key.serialize_pem());
        let err = server_config(&key, &key).unwrap_err().to_string();
        assert!(
            err.contains("sip.tls_cert") && err.contains("no PEM certificate"),
            "{err}"
        );
        let err = server_config(&cert, &cert).unwrap_err().to_string();
        assert!(
            err.contains("sip.tls_key") && err.contains("no PEM private key"),
            "{err}"
        );
    }

    #[test]
    fn a_key_of_another_certificate_is_refused() {
        let files = Files::new();
        let cert = files.write("cert.pem", &self_signed().cert.pem());
        let other = files.write("other.pem", &self_signed().signing_key.serialize_pem());
        let err = server_config(&cert, &other).unwrap_err().to_string();
        assert!(
            err.starts_with("config error: sip.tls_key: ")
                && err.contains("cannot be used with the certificate"),
            "{err}"
        );
    }
}
