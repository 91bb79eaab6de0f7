//! Territories kept in memory between requests.
//!
//! Loading a territory means its row, every district and the parsing of
//! their boundaries (a city boundary has thousands of vertices): too much for
//! every request. One small query ([`Store::territory_stamp`]) says whether
//! the kept copy is still current — the boundary's revision, the districts'
//! count and largest id (districts are only ever added), and the data version
//! the response caches key on. Another process (the CLI) changing a territory
//! is seen at the next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use qalqan_domain::{Territory, TerritoryId, TerritoryName};
use qalqan_store::{Store, StoreError, TerritoryStamp};

/// Territories by name, each with the stamp it was loaded under.
#[derive(Debug, Default)]
pub struct TerritoryCache {
    entries: Mutex<HashMap<String, (TerritoryStamp, Arc<Territory>)>>,
    /// The data version each territory had at its last lookup.
    versions: Mutex<HashMap<TerritoryId, i64>>,
}

impl TerritoryCache {
    /// The territory as stored now, and its data version.
    pub async fn get(&self, store: &Store, name: &TerritoryName) -> Result<(Arc<Territory>, i64), StoreError> {
        let stamp = store.territory_stamp(name).await?.ok_or_else(|| StoreError::NotFound { what: "territory", key: name.to_string() })?;
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).insert(stamp.id, stamp.data_version);
        let kept = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(name.as_str()).cloned();
        if let Some((s, t)) = kept
            && s.id == stamp.id
            && s.shape == stamp.shape
        {
            return Ok((t, stamp.data_version));
        }
        let fresh = Arc::new(store.territory(name).await?);
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).insert(name.as_str().to_owned(), (stamp, fresh.clone()));
        Ok((fresh, stamp.data_version))
    }

    /// The data version seen at the territory's last lookup, if any.
    pub fn data_version(&self, id: TerritoryId) -> Option<i64> {
        self.versions.lock().unwrap_or_else(|e| e.into_inner()).get(&id).copied()
    }
}
