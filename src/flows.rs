//! Activating IVR flows for a tenant, and the IVR scripts folder.
//!
//! [`activate`] is the one way a new flow source goes live, from the API
//! (`PUT /api/v1/ivr/flows/{name}`) or from a file: it is checked as
//! `kefu ivr validate` does plus against the tenant's calendars, and saved
//! as the flow's next version only when it has no errors, so the previous
//! version keeps running otherwise. Calls load the version current when
//! they start and keep it, which is what makes reloading safe.
//!
//! [`ScriptsFolder`] loads `*.toml` from the scripts folder (flow name =
//! file name) and, polled every [`POLL_INTERVAL`], activates the files whose
//! modification time or size changed. Polling rather than inotify (`notify`):
//! a handful of small files every two seconds costs nothing, it needs no
//! extra dependency or platform code, and it also sees edits on bind mounts
//! and network filesystems, where change events are not delivered.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::ivr::diagnostic::{Diagnostic, Severity};
use crate::ivr::{check_against, validate::Known};
use crate::store::{IvrFlow, Store, StoreError};

/// How often the scripts folder is looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Longest flow name (letters, digits, `-`, `_`).
const MAX_NAME_LEN: usize = 64;

/// What became of a flow source.
#[derive(Debug)]
pub enum Activation {
    /// Saved (a new version when the source changed); warnings included.
    Active {
        flow: IvrFlow,
        warnings: Vec<Diagnostic>,
    },
    /// Not used: every problem found, errors first among them.
    Rejected { diagnostics: Vec<Diagnostic> },
}

/// Whether `name` can name a flow: 1-64 ASCII letters, digits, `-`, `_`.
pub fn is_flow_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks `source` as flow `name` of the tenant and saves it unless it has
/// errors. See the [module docs](self).
pub async fn activate(
    store: &Store,
    tenant_id: &str,
    name: &str,
    source: &str,
) -> Result<Activation, StoreError> {
    let calendars = store.calendar_names(tenant_id).await?;
    let file = format!("{name}.toml");
    let checked = check_against(
        &file,
        source,
        Known {
            calendars: &calendars,
        },
    );
    let Some(flow) = checked.flow else {
        return Ok(Activation::Rejected {
            diagnostics: checked.diagnostics,
        });
    };
    if flow.name != name {
        let mut diagnostics = checked.diagnostics;
        diagnostics.insert(
            0,
            Diagnostic {
                severity: Severity::Error,
                file,
                line: None,
                column: None,
                node: None,
                field: Some("name".to_owned()),
                message: format!(
                    "is \"{}\" but the flow is saved as \"{name}\"; remove `name` or make it \"{name}\"",
                    flow.name
                ),
            },
        );
        return Ok(Activation::Rejected { diagnostics });
    }
    let saved = store.save_ivr_flow(tenant_id, name, source).await?;
    Ok(Activation::Active {
        flow: saved,
        warnings: checked.diagnostics,
    })
}

/// When a file was last seen: its modification time and size.
type Stamp = (Option<SystemTime>, u64);

/// The IVR scripts folder of one tenant. See the [module docs](self).
#[derive(Debug)]
pub struct ScriptsFolder {
    dir: PathBuf,
    tenant_id: String,
    seen: HashMap<PathBuf, Stamp>,
    /// The last reason the folder could not be read, logged once.
    unreadable: Option<String>,
}

impl ScriptsFolder {
    /// The folder `dir`, whose flows belong to `tenant_id`.
    pub fn new(dir: PathBuf, tenant_id: String) -> Self {
        ScriptsFolder {
            dir,
            tenant_id,
            seen: HashMap::new(),
            unreadable: None,
        }
    }

    /// Activates every `*.toml` file that is new or changed since the last
    /// scan; returns how many of them are active now. Problems are logged.
    pub async fn scan(&mut self, store: &Store) -> usize {
        let files = match self.files().await {
            Ok(files) => {
                self.unreadable = None;
                files
            }
            Err(why) => {
                if self.unreadable.as_ref() != Some(&why) {
                    tracing::info!(dir = %self.dir.display(), %why, "IVR scripts folder not read; watching for it");
                    self.unreadable = Some(why);
                }
                return 0;
            }
        };
        let mut activated = 0;
        for (path, stamp) in files {
            if self.seen.get(&path) == Some(&stamp) {
                continue;
            }
            match self.load(store, &path).await {
                Ok(active) => {
                    self.seen.insert(path, stamp);
                    activated += usize::from(active);
                }
                Err(error) => {
                    tracing::error!(file = %path.display(), %error, "cannot save the IVR flow; will retry");
                }
            }
        }
        activated
    }

    /// Scans every [`POLL_INTERVAL`] until `stopping` turns true.
    pub fn watch(mut self, store: Store, mut stopping: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = tokio::time::sleep(POLL_INTERVAL) => {
                        self.scan(&store).await;
                    }
                    changed = stopping.changed() => {
                        if changed.is_err() || *stopping.borrow() {
                            return;
                        }
                    }
                }
            }
        })
    }

    /// The folder's `*.toml` files with their stamps.
    async fn files(&self) -> Result<Vec<(PathBuf, Stamp)>, String> {
        let mut entries = tokio::fs::read_dir(&self.dir)
            .await
            .map_err(|e| match e.kind() {
                ErrorKind::NotFound => "it does not exist".to_owned(),
                _ => e.to_string(),
            })?;
        let mut files = Vec::new();
        while let Some(entry) = entries.next_entry().await.map_err(|e| e.to_string())? {
            let path = entry.path();
            if path.extension().is_none_or(|ext| ext != "toml") {
                continue;
            }
            let Ok(meta) = entry.metadata().await else {
                continue;
            };
            if meta.is_file() {
                files.push((path, (meta.modified().ok(), meta.len())));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Reads and activates one file; whether it is active now.
    async fn load(&self, store: &Store, path: &Path) -> Result<bool, StoreError> {
        let file = path.display();
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .filter(|s| is_flow_name(s))
        else {
            tracing::warn!(%file, "IVR script skipped: a flow's file name must be letters, digits, '-' or '_' (at most 64) and .toml");
            return Ok(false);
        };
        let source = match tokio::fs::read_to_string(path).await {
            Ok(source) => source,
            Err(error) => {
                tracing::warn!(%file, %error, "IVR script not readable; skipped");
                return Ok(false);
            }
        };
        match activate(store, &self.tenant_id, name, &source).await? {
            Activation::Active { flow, warnings } => {
                for warning in &warnings {
                    tracing::warn!(%file, "{warning}");
                }
                tracing::info!(%file, flow = name, version = flow.version, "IVR flow active");
                Ok(true)
            }
            Activation::Rejected { diagnostics } => {
                for diagnostic in &diagnostics {
                    tracing::warn!(%file, "{diagnostic}");
                }
                tracing::warn!(%file, flow = name, problems = diagnostics.len(), "IVR flow has errors; not activated, the previous version stays");
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_names_are_short_and_plain() {
        assert!(is_flow_name("after-hours"));
        assert!(is_flow_name("vip_2"));
        assert!(!is_flow_name(""));
        assert!(!is_flow_name("../etc"));
        assert!(!is_flow_name("a b"));
        assert!(!is_flow_name(&"x".repeat(65)));
    }
}
