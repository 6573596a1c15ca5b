//! The durable store: redb tables for rows, pending ops and meta.
//!
//! Why redb: an edge must never lose a write it acknowledged to its application, nor forget what
//! it already sent, across a crash at any point. redb is a pure-Rust embedded database with ACID
//! transactions (copy-on-write B-trees, a commit is durable when `commit` returns), so "row
//! state + pending op" and "op removal + status" each commit atomically (docs/edge.md).
//!
//! Tables:
//! * `rows`: `(collection, doc_id)` -> [`RowRecord`] (JSON: v2 state as base64, status, revert flag);
//! * `ops`: sequence (`u64`, increasing) -> [`PendingOp`] (JSON);
//! * `meta`: `client_id`, `op_counter`, `op_seq`, `last_seq`, `catchup_needed`,
//!   `cursor:<collection>`.

use std::path::Path;

use dink_core::value::{base64_decode, base64_encode};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use serde::{Deserialize, Serialize};

use super::status::RowStatus;
use super::SyncError;

const ROWS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("rows");
const OPS: TableDefinition<u64, &[u8]> = TableDefinition::new("ops");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// File name of the database inside the store directory.
pub const STORE_FILE: &str = "sync.redb";

fn db_err<E: Into<redb::Error>>(e: E) -> SyncError {
    SyncError::new("STORAGE", format!("store: {}", e.into()))
}

mod b64 {
    use super::{base64_decode, base64_encode};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64_encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64_decode(&text).ok_or_else(|| serde::de::Error::custom("bad base64"))
    }
}

/// One row as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowRecord {
    /// The row document's state (Yjs update v2).
    #[serde(with = "b64")]
    pub state: Vec<u8>,
    pub status: RowStatus,
    /// Convex refused a change of this row: its state must be replaced by the server's
    /// (fetched with `snapshot`) before any further op of the row is sent.
    #[serde(default)]
    pub needs_revert: bool,
}

/// What a local write asked for, kept so an op can be rebuilt on top of the server's state after
/// a revert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Intent {
    /// `fields`: Convex JSON of the fields set; `unset`: keys removed.
    Put {
        fields: String,
        unset: Vec<String>,
    },
    Delete,
}

/// A local change not yet acknowledged by Convex.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PendingOp {
    pub op_id: String,
    pub collection: String,
    pub doc_id: String,
    #[serde(with = "b64")]
    pub delta: Vec<u8>,
    /// 1 or 2 (always 2 for what this edge makes).
    pub format: u32,
    /// Handed to the gateway at least once (resending keeps the same `op_id`).
    pub sent: bool,
    pub intent: Intent,
}

/// The store. One per directory; redb locks the file, so a second open in another process fails.
pub struct Store {
    db: Database,
    client_id: u64,
}

/// A write transaction: every change made through it commits together or not at all.
pub struct Tx<'a> {
    txn: &'a WriteTransaction,
}

fn get_meta_u64(txn: &WriteTransaction, key: &str) -> Result<Option<u64>, SyncError> {
    let t = txn.open_table(META).map_err(db_err)?;
    let v = t.get(key).map_err(db_err)?;
    Ok(v.and_then(|g| <[u8; 8]>::try_from(g.value()).ok().map(u64::from_le_bytes)))
}

fn set_meta(txn: &WriteTransaction, key: &str, value: &[u8]) -> Result<(), SyncError> {
    let mut t = txn.open_table(META).map_err(db_err)?;
    t.insert(key, value).map_err(db_err)?;
    Ok(())
}

fn decode_row(bytes: &[u8]) -> Result<RowRecord, SyncError> {
    serde_json::from_slice(bytes).map_err(|e| SyncError::new("STORAGE", format!("bad row: {e}")))
}

fn decode_op(bytes: &[u8]) -> Result<PendingOp, SyncError> {
    serde_json::from_slice(bytes).map_err(|e| SyncError::new("STORAGE", format!("bad op: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>, SyncError> {
    serde_json::to_vec(v).map_err(|e| SyncError::new("STORAGE", format!("encode: {e}")))
}

impl Store {
    /// Open (or create) the store in directory `dir`. The edge's Yjs client id is chosen at
    /// random (1..2^32) the first time and kept.
    pub fn open(dir: &Path) -> Result<Store, SyncError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| SyncError::new("STORAGE", format!("{}: {e}", dir.display())))?;
        let db = Database::create(dir.join(STORE_FILE)).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        {
            txn.open_table(ROWS).map_err(db_err)?;
            txn.open_table(OPS).map_err(db_err)?;
            txn.open_table(META).map_err(db_err)?;
        }
        let client_id = match get_meta_u64(&txn, "client_id")? {
            Some(id) => id,
            None => {
                let id = rand::Rng::gen_range(&mut rand::thread_rng(), 1..(1u64 << 32));
                set_meta(&txn, "client_id", &id.to_le_bytes())?;
                id
            }
        };
        txn.commit().map_err(db_err)?;
        Ok(Store { db, client_id })
    }

    /// The edge's Yjs client id (stable for the store's lifetime).
    pub fn client_id(&self) -> u64 {
        self.client_id
    }

    /// Run `f` in one write transaction; commit if it returns `Ok`, abort otherwise.
    pub fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> Result<T, SyncError>,
    ) -> Result<T, SyncError> {
        let txn = self.db.begin_write().map_err(db_err)?;
        let out = {
            let mut tx = Tx { txn: &txn };
            f(&mut tx)?
        };
        txn.commit().map_err(db_err)?;
        Ok(out)
    }

    pub fn get_row(&self, collection: &str, doc_id: &str) -> Result<Option<RowRecord>, SyncError> {
        self.write(|tx| tx.get_row(collection, doc_id))
    }

    /// Every row of `collection` (tombstones included), by doc id.
    pub fn list_rows(&self, collection: &str) -> Result<Vec<(String, RowRecord)>, SyncError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(ROWS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.range((collection, "")..).map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let (c, d) = k.value();
            if c != collection {
                break;
            }
            out.push((d.to_string(), decode_row(v.value())?));
        }
        Ok(out)
    }

    /// Every pending op, oldest first.
    pub fn pending_ops(&self) -> Result<Vec<(u64, PendingOp)>, SyncError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(OPS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            out.push((k.value(), decode_op(v.value())?));
        }
        Ok(out)
    }

    pub fn pending_count(&self) -> Result<u64, SyncError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let t = txn.open_table(OPS).map_err(db_err)?;
        t.len().map_err(db_err)
    }

    pub fn last_seq(&self) -> Result<u64, SyncError> {
        self.write(|tx| tx.last_seq())
    }

    pub fn cursor(&self, collection: &str) -> Result<Option<String>, SyncError> {
        self.write(|tx| tx.cursor(collection))
    }

    pub fn catchup_needed(&self) -> Result<bool, SyncError> {
        self.write(|tx| Ok(get_meta_u64(tx.txn, "catchup_needed")?.unwrap_or(0) != 0))
    }
}

impl Tx<'_> {
    pub fn get_row(&self, collection: &str, doc_id: &str) -> Result<Option<RowRecord>, SyncError> {
        let t = self.txn.open_table(ROWS).map_err(db_err)?;
        let v = t.get((collection, doc_id)).map_err(db_err)?;
        v.map(|g| decode_row(g.value())).transpose()
    }

    pub fn put_row(
        &mut self,
        collection: &str,
        doc_id: &str,
        row: &RowRecord,
    ) -> Result<(), SyncError> {
        let bytes = encode(row)?;
        let mut t = self.txn.open_table(ROWS).map_err(db_err)?;
        t.insert((collection, doc_id), bytes.as_slice())
            .map_err(db_err)?;
        Ok(())
    }

    pub fn remove_row(&mut self, collection: &str, doc_id: &str) -> Result<(), SyncError> {
        let mut t = self.txn.open_table(ROWS).map_err(db_err)?;
        t.remove((collection, doc_id)).map_err(db_err)?;
        Ok(())
    }

    /// The next op id counter value (persisted; never reused).
    pub fn next_op_counter(&mut self) -> Result<u64, SyncError> {
        let n = get_meta_u64(self.txn, "op_counter")?.unwrap_or(0) + 1;
        set_meta(self.txn, "op_counter", &n.to_le_bytes())?;
        Ok(n)
    }

    /// Append an op; returns its sequence number.
    pub fn push_op(&mut self, op: &PendingOp) -> Result<u64, SyncError> {
        let seq = get_meta_u64(self.txn, "op_seq")?.unwrap_or(0) + 1;
        set_meta(self.txn, "op_seq", &seq.to_le_bytes())?;
        self.put_op(seq, op)?;
        Ok(seq)
    }

    pub fn get_op(&self, seq: u64) -> Result<Option<PendingOp>, SyncError> {
        let t = self.txn.open_table(OPS).map_err(db_err)?;
        let v = t.get(seq).map_err(db_err)?;
        v.map(|g| decode_op(g.value())).transpose()
    }

    pub fn put_op(&mut self, seq: u64, op: &PendingOp) -> Result<(), SyncError> {
        let bytes = encode(op)?;
        let mut t = self.txn.open_table(OPS).map_err(db_err)?;
        t.insert(seq, bytes.as_slice()).map_err(db_err)?;
        Ok(())
    }

    pub fn remove_op(&mut self, seq: u64) -> Result<(), SyncError> {
        let mut t = self.txn.open_table(OPS).map_err(db_err)?;
        t.remove(seq).map_err(db_err)?;
        Ok(())
    }

    /// The pending ops of one row, oldest first.
    pub fn row_ops(
        &self,
        collection: &str,
        doc_id: &str,
    ) -> Result<Vec<(u64, PendingOp)>, SyncError> {
        let t = self.txn.open_table(OPS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let op = decode_op(v.value())?;
            if op.collection == collection && op.doc_id == doc_id {
                out.push((k.value(), op));
            }
        }
        Ok(out)
    }

    pub fn last_seq(&self) -> Result<u64, SyncError> {
        Ok(get_meta_u64(self.txn, "last_seq")?.unwrap_or(0))
    }

    pub fn set_last_seq(&mut self, seq: u64) -> Result<(), SyncError> {
        set_meta(self.txn, "last_seq", &seq.to_le_bytes())
    }

    pub fn get_catchup_needed(&self) -> Result<bool, SyncError> {
        Ok(get_meta_u64(self.txn, "catchup_needed")?.unwrap_or(0) != 0)
    }

    pub fn set_catchup_needed(&mut self, needed: bool) -> Result<(), SyncError> {
        set_meta(self.txn, "catchup_needed", &u64::from(needed).to_le_bytes())
    }

    pub fn cursor(&self, collection: &str) -> Result<Option<String>, SyncError> {
        let t = self.txn.open_table(META).map_err(db_err)?;
        let key = format!("cursor:{collection}");
        let v = t.get(key.as_str()).map_err(db_err)?;
        Ok(v.map(|g| String::from_utf8_lossy(g.value()).into_owned()))
    }

    pub fn set_cursor(&mut self, collection: &str, cursor: &str) -> Result<(), SyncError> {
        set_meta(self.txn, &format!("cursor:{collection}"), cursor.as_bytes())
    }
}
