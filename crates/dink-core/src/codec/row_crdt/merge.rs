//! Merging updates without a document (yjs `mergeUpdatesV2`): structs of every update, the
//! highest client first and by clock, overlaps written once, gaps marked with skips; the
//! delete sets united.

use super::block::{Block, Id};
use super::decode::{slice_incoming, Incoming, UpdateRefs};

/// A struct being merged (yjs's lazily read `Item`, `GC` or `Skip`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Lazy<'a> {
    pub incoming: Incoming<'a>,
}

impl<'a> Lazy<'a> {
    fn id(&self) -> Id {
        self.incoming.block.id
    }

    fn end(&self) -> u32 {
        self.incoming.block.end()
    }

    fn is_skip(&self) -> bool {
        self.incoming.skip
    }

    fn is_gc(&self) -> bool {
        !self.incoming.skip && self.incoming.block.is_gc()
    }

    /// yjs `sliceStruct`.
    fn slice(self, diff: u32) -> Option<Self> {
        slice_incoming(self.incoming, diff).map(|incoming| Lazy { incoming })
    }

    /// yjs `mergeWith` on unintegrated structs: only GC with GC and skip with skip (an item's
    /// `right` is unset before integration, so items never merge here).
    fn merge_with(&mut self, right: &Lazy<'a>) -> bool {
        if (self.is_gc() && right.is_gc()) || (self.is_skip() && right.is_skip()) {
            self.incoming.block.len += right.incoming.block.len;
            return true;
        }
        false
    }
}

/// One update's structs in order, skips left out (yjs `LazyStructReader` with `filterSkips`).
struct Reader<'a> {
    structs: Vec<Lazy<'a>>,
    next: usize,
}

impl<'a> Reader<'a> {
    fn curr(&self) -> Option<Lazy<'a>> {
        self.structs.get(self.next).copied()
    }

    fn advance(&mut self) -> Option<Lazy<'a>> {
        self.next += 1;
        self.curr()
    }
}

/// Merges decoded updates into sections to write (client, structs), plus the united delete
/// set. `None` when a struct cannot be sliced where an overlap needs it (a binary value; no
/// encoder produces such overlaps).
pub(crate) fn merge<'a>(updates: Vec<UpdateRefs<'a>>) -> Option<MergedRefs<'a>> {
    let mut deletes = Vec::new();
    let mut readers: Vec<Reader<'a>> = Vec::with_capacity(updates.len());
    for update in updates {
        deletes.extend(update.deletes.iter().copied());
        let structs = update
            .sections
            .into_iter()
            .flat_map(|(_, structs)| structs)
            .filter(|s| !s.skip)
            .map(|incoming| Lazy { incoming })
            .collect();
        readers.push(Reader { structs, next: 0 });
    }
    let mut out = MergedRefs {
        sections: Vec::new(),
        deletes,
    };
    let mut current: Option<Lazy<'a>> = None;
    loop {
        readers.retain(|r| r.curr().is_some());
        // Highest client first, then by clock; a stable sort, as JavaScript's, keeps equal
        // structs in their order. (Readers never hold skips, so yjs' tie-break on them is
        // moot.) Insertion sort: the readers are nearly sorted from the last round, and it is
        // a few bytes of code where the standard stable sort is kilobytes.
        let key = |r: &Reader<'_>| {
            r.curr()
                .map(|c| (std::cmp::Reverse(c.id().client), c.id().clock))
        };
        for i in 1..readers.len() {
            let mut j = i;
            while j > 0 && key(&readers[j - 1]) > key(&readers[j]) {
                readers.swap(j - 1, j);
                j -= 1;
            }
        }
        let Some(reader) = readers.first_mut() else {
            break;
        };
        let Some(first) = reader.curr() else { break };
        let first_client = first.id().client;
        match current.as_mut() {
            Some(written) => {
                let mut curr = Some(first);
                let mut iterated = false;
                while let Some(c) = curr {
                    if c.end() <= written.end() && c.id().client >= written.id().client {
                        curr = reader.advance();
                        iterated = true;
                    } else {
                        break;
                    }
                }
                let Some(mut curr) = curr else { continue };
                if curr.id().client != first_client || (iterated && curr.id().clock > written.end())
                {
                    continue;
                }
                if first_client != written.id().client {
                    out.write(*written);
                    *written = curr;
                    reader.advance();
                } else if written.end() < curr.id().clock {
                    if written.is_skip() {
                        written.incoming.block.len = curr.end() - written.id().clock;
                    } else {
                        out.write(*written);
                        let gap = curr.id().clock - written.end();
                        *written = Lazy {
                            incoming: Incoming {
                                block: Block::gc(
                                    Id {
                                        client: first_client,
                                        clock: written.end(),
                                    },
                                    gap,
                                ),
                                named: false,
                                skip: true,
                                key_flag: false,
                            },
                        };
                    }
                } else {
                    let diff = written.end() - curr.id().clock;
                    if diff > 0 {
                        if written.is_skip() {
                            written.incoming.block.len -= diff;
                        } else {
                            curr = curr.slice(diff)?;
                        }
                    }
                    if !written.merge_with(&curr) {
                        out.write(*written);
                        *written = curr;
                        reader.advance();
                    }
                }
            }
            None => {
                current = Some(first);
                reader.advance();
            }
        }
        // Write on from this update while its structs follow without a gap.
        let Some(written) = current.as_mut() else {
            continue;
        };
        let mut next = reader.curr();
        while let Some(n) = next {
            if n.id().client == first_client && n.id().clock == written.end() && !n.is_skip() {
                out.write(*written);
                *written = n;
                next = reader.advance();
            } else {
                break;
            }
        }
    }
    if let Some(written) = current {
        out.write(written);
    }
    Some(out)
}

/// What [`merge`] produces: sections in writing order and the united delete set (unsorted).
#[derive(Debug, Default)]
pub(crate) struct MergedRefs<'a> {
    pub sections: Vec<(u64, Vec<Lazy<'a>>)>,
    pub deletes: Vec<(u64, u32, u32)>,
}

impl<'a> MergedRefs<'a> {
    /// yjs `writeStructToLazyStructWriter`: a new section whenever the client changes.
    fn write(&mut self, s: Lazy<'a>) {
        let client = s.id().client;
        match self.sections.last_mut() {
            Some((c, list)) if *c == client => list.push(s),
            _ => self.sections.push((client, vec![s])),
        }
    }
}
