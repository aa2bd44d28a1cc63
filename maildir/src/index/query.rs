//! Sorting, paging and header search over the index, without touching a message file.
//!
//! A page costs O(n) whatever the sort: matching records are selected with
//! `select_nth_unstable` on a compact (key, record) array and only the page itself is
//! sorted. String sorts compare an 8-byte prefix first and the full lower-cased string
//! only on ties; every sort ends with the unique name, so paging is stable.

use std::cmp::Ordering;

use memchr::memmem::Finder;

use super::HeaderIndex;
use super::record::{Field, Record};

/// What to sort by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SortKey {
    /// The Date header (arrival time for messages without one).
    #[default]
    Date,
    /// Arrival in the folder.
    Arrival,
    /// Sender name, then address.
    From,
    /// Recipients (for Sent and Drafts).
    To,
    /// Subject without "Re:" and "Fwd:" prefixes.
    Subject,
    /// Size.
    Size,
}

/// Which header fields a search looks in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SearchField {
    /// From, To or Subject.
    #[default]
    Any,
    /// From (name and address).
    From,
    /// To.
    To,
    /// Subject.
    Subject,
}

/// A case-insensitive substring search in header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    field: SearchField,
    needle: String,
}

impl Search {
    /// Searches `field` for `text` (case-insensitive).
    pub fn new(field: SearchField, text: &str) -> Search {
        Search { field, needle: text.trim().to_lowercase() }
    }
}

/// A page request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// Sort key.
    pub sort: SortKey,
    /// Largest first (newest first for dates).
    pub descending: bool,
    /// Only records matching this search.
    pub search: Option<Search>,
    /// Only unread records.
    pub unread_only: bool,
    /// Records to skip (page number × page size).
    pub offset: usize,
    /// Page size.
    pub limit: usize,
}

impl Default for Query {
    /// Page 1, newest first, 50 to a page.
    fn default() -> Query {
        Query {
            sort: SortKey::Date,
            descending: true,
            search: None,
            unread_only: false,
            offset: 0,
            limit: 50,
        }
    }
}

/// One page of records.
#[derive(Debug)]
pub struct Page<'a> {
    /// How many records match (for "page 3 of 17").
    pub total: usize,
    /// The records of this page, in order.
    pub records: Vec<&'a Record>,
}

impl HeaderIndex {
    /// One page of records, sorted and filtered as `query` says.
    pub fn query(&self, query: &Query) -> Page<'_> {
        let records = &self.records;
        let mut keyed = self.matching(query);
        let total = keyed.len();
        let start = query.offset.min(total);
        let end = query.offset.saturating_add(query.limit).min(total);
        if start == end {
            return Page { total, records: Vec::new() };
        }
        let tie = |a: &(u64, u32), b: &(u64, u32)| -> Ordering {
            let (ra, rb) = (&records[a.1 as usize], &records[b.1 as usize]);
            let full = match query.sort {
                SortKey::From => ra.field(Field::LcFrom).cmp(rb.field(Field::LcFrom)),
                SortKey::To => ra.field(Field::LcTo).cmp(rb.field(Field::LcTo)),
                SortKey::Subject => ra.subject_sort_key().cmp(rb.subject_sort_key()),
                _ => Ordering::Equal,
            };
            let full = full.then_with(|| ra.unique().cmp(rb.unique()));
            if query.descending { full.reverse() } else { full }
        };
        let cmp = |a: &(u64, u32), b: &(u64, u32)| a.0.cmp(&b.0).then_with(|| tie(a, b));
        if end < total {
            keyed.select_nth_unstable_by(end, cmp);
            keyed.truncate(end);
        }
        if start > 0 {
            keyed.select_nth_unstable_by(start, cmp);
        }
        let page = &mut keyed[start..];
        page.sort_unstable_by(cmp);
        Page { total, records: page.iter().map(|&(_, i)| &records[i as usize]).collect() }
    }

    /// (sort key, record number) of every matching record; keys are flipped for
    /// descending order so that one ascending selection serves both.
    fn matching(&self, query: &Query) -> Vec<(u64, u32)> {
        let finder = query
            .search
            .as_ref()
            .filter(|s| !s.needle.is_empty())
            .map(|s| (s.field, Finder::new(s.needle.as_bytes())));
        let key = |r: &Record| -> u64 {
            let k = match query.sort {
                // Order-preserving map of i64 onto u64.
                SortKey::Date => (r.date as u64) ^ (1 << 63),
                SortKey::Arrival => (r.arrival as u64) ^ (1 << 63),
                SortKey::Size => r.size,
                SortKey::From => r.from_key,
                SortKey::To => r.to_key,
                SortKey::Subject => r.subject_key,
            };
            if query.descending { !k } else { k }
        };
        let mut keyed = Vec::with_capacity(if finder.is_some() { 64 } else { self.records.len() });
        for (i, r) in self.records.iter().enumerate() {
            if query.unread_only && !r.is_unread() {
                continue;
            }
            if let Some((field, finder)) = &finder {
                let hit = |f: Field| finder.find(r.field(f).as_bytes()).is_some();
                let found = match field {
                    SearchField::Any => {
                        hit(Field::LcFrom) || hit(Field::LcTo) || hit(Field::LcSubject)
                    }
                    SearchField::From => hit(Field::LcFrom),
                    SearchField::To => hit(Field::LcTo),
                    SearchField::Subject => hit(Field::LcSubject),
                };
                if !found {
                    continue;
                }
            }
            keyed.push((key(r), i as u32));
        }
        keyed
    }

    /// The messages of the thread `record` belongs to (same [`Record::thread_key`], or
    /// whose Message-ID is that key), oldest first.
    pub fn thread(&self, record: &Record) -> Vec<&Record> {
        let key = record.thread_key();
        let mut thread: Vec<&Record> = self
            .records
            .iter()
            .filter(|r| r.thread_key() == key || r.message_id() == key)
            .collect();
        thread.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.unique().cmp(b.unique())));
        thread
    }
}
