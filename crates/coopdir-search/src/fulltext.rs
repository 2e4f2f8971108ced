//! The full-text part of the index: tantivy, on disk beside the store.
//!
//! One document per person (name, job title, place, description, every label of every
//! skill held) and one per skill (every label in every language). Text is folded by
//! [`crate::text::fold`] before tantivy sees it, so tantivy's default tokenizer and our
//! query words agree. Each document carries a 64-bit key derived from its IRI as a fast
//! field, which maps hits back to the in-memory entries without reading stored fields.
//! The change-log sequence the index reflects is kept in tantivy's commit payload, so
//! it is written atomically with the documents.

use std::path::Path;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::columnar::Column;
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentReader;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, Schema, TEXT};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Score, TantivyDocument, Term};

use crate::SearchError;
use crate::text::typo_budget;

/// Bumped whenever documents or the schema change meaning; an index of another format
/// is rebuilt at start-up.
const FORMAT: u32 = 1;
const WRITER_MEMORY: usize = 20_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocKind {
    Person = 0,
    Skill = 1,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    format: u32,
    cursor: u64,
}

pub struct FullText {
    writer: Mutex<IndexWriter<TantivyDocument>>,
    reader: IndexReader,
    kind: Field,
    key: Field,
    text: Field,
}

/// The key of an IRI in the index.
pub fn key(iri: &str) -> u64 {
    let digest = Sha256::digest(iri.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

impl FullText {
    /// Opens the index in `dir`, creating it (or recreating it, when it is unreadable or
    /// of another format) as needed. Returns the change-log sequence it reflects, `None`
    /// when it starts empty and must be built.
    pub fn open(dir: &Path) -> Result<(Self, Option<u64>), SearchError> {
        match Self::open_existing(dir) {
            Ok(Some(opened)) => return Ok(opened),
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(error = %e, dir = %dir.display(), "search index unreadable: rebuilding it")
            }
        }
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|e| SearchError::io(dir, e))?;
        }
        std::fs::create_dir_all(dir).map_err(|e| SearchError::io(dir, e))?;
        let directory = MmapDirectory::open(dir).map_err(|e| SearchError::Index(e.to_string()))?;
        let index = Index::create(directory, schema(), Default::default())?;
        Ok((Self::with_index(index)?, None))
    }

    /// An index that lives in memory only (tests, or a store without a directory).
    pub fn in_memory() -> Result<Self, SearchError> {
        Self::with_index(Index::create_in_ram(schema()))
    }

    fn open_existing(dir: &Path) -> Result<Option<(Self, Option<u64>)>, SearchError> {
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        let index = Index::open_in_dir(dir)?;
        if index.schema() != schema() {
            tracing::info!("search index has an older schema: rebuilding it");
            return Ok(None);
        }
        let payload: Option<Payload> = index
            .load_metas()?
            .payload
            .and_then(|p| serde_json::from_str(&p).ok());
        match payload {
            Some(p) if p.format == FORMAT => Ok(Some((Self::with_index(index)?, Some(p.cursor)))),
            _ => {
                tracing::info!("search index is of an older format: rebuilding it");
                Ok(None)
            }
        }
    }

    fn with_index(index: Index) -> Result<Self, SearchError> {
        let schema = index.schema();
        let field = |name| {
            schema
                .get_field(name)
                .map_err(|e| SearchError::Index(e.to_string()))
        };
        let (kind, key, text) = (field("kind")?, field("key")?, field("text")?);
        let writer = index.writer_with_num_threads(1, WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(FullText {
            writer: Mutex::new(writer),
            reader,
            kind,
            key,
            text,
        })
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter<TantivyDocument>> {
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces the document of `key` (takes effect at the next commit).
    pub fn put(&self, kind: DocKind, key: u64, text: &str) -> Result<(), SearchError> {
        let writer = self.writer();
        writer.delete_term(Term::from_field_u64(self.key, key));
        let mut doc = TantivyDocument::default();
        doc.add_u64(self.kind, kind as u64);
        doc.add_u64(self.key, key);
        doc.add_text(self.text, text);
        writer.add_document(doc)?;
        Ok(())
    }

    pub fn remove(&self, key: u64) {
        self.writer()
            .delete_term(Term::from_field_u64(self.key, key));
    }

    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer().delete_all_documents()?;
        Ok(())
    }

    /// Makes every change so far durable and searchable, recording `cursor`.
    pub fn commit(&self, cursor: u64) -> Result<(), SearchError> {
        let payload = serde_json::to_string(&Payload {
            format: FORMAT,
            cursor,
        })
        .map_err(|e| SearchError::Index(e.to_string()))?;
        {
            let mut writer = self.writer();
            let mut prepared = writer.prepare_commit()?;
            prepared.set_payload(&payload);
            prepared.commit()?;
        }
        self.reader.reload()?;
        Ok(())
    }

    pub fn count(&self, kind: DocKind) -> Result<usize, SearchError> {
        let query = TermQuery::new(
            Term::from_field_u64(self.kind, kind as u64),
            IndexRecordOption::Basic,
        );
        Ok(self.reader.searcher().search(&query, &Count)?)
    }

    /// One clause per word, each met by the word itself (ranked by BM25) or by a word
    /// one typo away (a constant score); `last_is_prefix` lets the last word be the start
    /// of a longer one, for autocomplete.
    fn query(&self, kind: DocKind, words: &[String], last_is_prefix: bool) -> BooleanQuery {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_u64(self.kind, kind as u64),
                IndexRecordOption::Basic,
            )),
        )];
        for (i, word) in words.iter().enumerate() {
            let term = Term::from_field_text(self.text, word);
            let budget = typo_budget(word);
            let prefix = last_is_prefix && i + 1 == words.len();
            let exact: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                2.0,
            ));
            let near: Box<dyn Query> = if prefix {
                Box::new(FuzzyTermQuery::new_prefix(term, budget, true))
            } else {
                Box::new(FuzzyTermQuery::new(term, budget, true))
            };
            clauses.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, exact),
                    (Occur::Should, near),
                ])),
            ));
        }
        BooleanQuery::new(clauses)
    }

    /// Every person matching all `words`, with its relevance.
    pub fn people(&self, words: &[String]) -> Result<Vec<(u64, Score)>, SearchError> {
        let query = self.query(DocKind::Person, words, false);
        Ok(self.reader.searcher().search(
            &query,
            &KeyScores {
                field: "key".into(),
            },
        )?)
    }

    /// The best `limit` skills whose labels match `words`, the last as a prefix.
    pub fn skills(&self, words: &[String], limit: usize) -> Result<Vec<(u64, Score)>, SearchError> {
        let query = self.query(DocKind::Skill, words, true);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let mut out = Vec::with_capacity(top.len());
        for (score, address) in top {
            let column: Column<u64> = searcher
                .segment_reader(address.segment_ord)
                .fast_fields()
                .u64("key")?;
            if let Some(key) = column.first(address.doc_id) {
                out.push((key, score));
            }
        }
        Ok(out)
    }
}

fn schema() -> Schema {
    let mut builder = Schema::builder();
    builder.add_u64_field("kind", INDEXED);
    builder.add_u64_field("key", INDEXED | FAST);
    builder.add_text_field("text", TEXT);
    builder.build()
}

/// Collects the key and score of every hit (a result set is at most the number of
/// people, so no top-k is needed here; ranking happens on the in-memory entries).
struct KeyScores {
    field: String,
}

struct SegmentKeyScores {
    keys: Column<u64>,
    hits: Vec<(u64, Score)>,
}

impl Collector for KeyScores {
    type Fruit = Vec<(u64, Score)>;
    type Child = SegmentKeyScores;

    fn for_segment(
        &self,
        _segment: u32,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegmentKeyScores> {
        Ok(SegmentKeyScores {
            keys: reader.fast_fields().u64(&self.field)?,
            hits: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(u64, Score)>>) -> tantivy::Result<Self::Fruit> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentKeyScores {
    type Fruit = Vec<(u64, Score)>;

    fn collect(&mut self, doc: u32, score: Score) {
        if let Some(key) = self.keys.first(doc) {
            self.hits.push((key, score));
        }
    }

    fn harvest(self) -> Self::Fruit {
        self.hits
    }
}
