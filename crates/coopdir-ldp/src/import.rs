//! Bulk import: many resources from RDF documents of any size, validated, then stored.
//!
//! Triples stream into [`ImportBatches`], which deals them into partitions by resource
//! (a hash of the IRI without its fragment; blank nodes follow the resource that refers
//! to them) and spills partitions to N-Triples files once too many are held in memory.
//! Links the server mirrors are spilled likewise, and their inverses go to the partition
//! of the resource they join. Only the types of imported resources and the set of their
//! IRIs stay in memory for the whole import (measured: about 750 bytes per resource on
//! top of a fixed 620 MB, so 1 GB is reached near 450,000 workers). Each resource is
//! validated in a small graph of its own plus the types of what it links to, on every
//! core. Into an empty store, each partition then feeds one bulk load at once (sorted
//! files built on another thread while the next partition is prepared, visible only at
//! the commit after the last); into a store holding data, partitions are read a second
//! time to be written, once all conform. Memory follows the partition size, not the
//! input's.

use coopdir_access::Principal;
use coopdir_shacl::ValidationReport;
use coopdir_store::{BulkLoad, ChangeRecord, ChangeSet, Operation};
use coopdir_vocab::{INVERSE_LINKS, Kind, Visibility, dcterms, dir, ldp, schema, skos};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{
    BlankNode, Graph, GraphName, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, Quad, Term,
    TermRef, Triple, TripleRef,
};
use oxttl::ntriples::WriterNTriplesSerializer;
use oxttl::{NTriplesParser, NTriplesSerializer};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::directory::{complete_known_skills, now};
use crate::paths::{Location, Paths};
use crate::{Directory, LdpError};

/// What an import stored.
#[derive(Debug, Clone, Default)]
pub struct ImportSummary {
    pub resources: usize,
    pub quads: usize,
    /// How many partitions the resources were validated and written in.
    pub partitions: usize,
    /// Stored concepts of the schemes this import describes that the import left out:
    /// kept (people may hold them), with how many people do.
    pub missing_concepts: Vec<(NamedNode, usize)>,
}

/// Stages an import goes through, for progress display: each reports the partitions
/// done out of all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportStage {
    Validating,
    Writing,
}

/// At most this many violations are collected before validation stops.
const MAX_REPORTED: usize = 100;

/// Triples an import aims to put in one partition: small enough that a partition's
/// graphs, validation and write batch take a few hundred MB at most.
pub const TRIPLES_PER_PARTITION: usize = 50_000;

/// Triples held in memory, over all partitions, before they are spilled to disk.
const BUFFERED_TRIPLES: usize = 200_000;

/// Triples of one partition (or the links): those spilled to its file, then those still
/// in memory.
#[derive(Default)]
struct Partition {
    file: Option<PathBuf>,
    writer: Option<WriterNTriplesSerializer<BufWriter<File>>>,
    memory: Vec<Triple>,
}

impl Partition {
    /// Appends the triples in memory to the file at `path` (created the first time).
    fn spill(&mut self, path: impl FnOnce() -> PathBuf) -> std::io::Result<()> {
        if self.memory.is_empty() {
            return Ok(());
        }
        let writer = match &mut self.writer {
            Some(writer) => writer,
            None => {
                let path = path();
                let file = File::create(&path)?;
                self.file = Some(path);
                self.writer
                    .insert(NTriplesSerializer::new().for_writer(BufWriter::new(file)))
            }
        };
        for t in self.memory.drain(..) {
            writer.serialize_triple(&t)?;
        }
        Ok(())
    }

    /// Flushes the file, which can then be read.
    fn close(&mut self) -> std::io::Result<()> {
        if let Some(writer) = self.writer.take() {
            writer.finish().flush()?;
        }
        Ok(())
    }

    /// Hands every triple, from the file then from memory, to `each`.
    fn for_each(
        &self,
        spill_in: &Path,
        each: &mut dyn FnMut(Triple) -> Result<(), LdpError>,
    ) -> Result<(), LdpError> {
        if let Some(path) = &self.file {
            let file = File::open(path).map_err(|e| spill_error(spill_in, e))?;
            // Lenient: the file holds only triples this import parsed and wrote itself.
            for t in NTriplesParser::new()
                .lenient()
                .for_reader(BufReader::with_capacity(1 << 16, file))
            {
                each(t.map_err(|e| spill_error(spill_in, e))?)?;
            }
        }
        for t in &self.memory {
            each(t.clone())?;
        }
        Ok(())
    }
}

/// Triples on their way into an import, dealt into partitions by resource.
/// Make one with [`Directory::import_batches`], [`push`](Self::push) every triple, then
/// hand it to [`Directory::import_from`].
pub struct ImportBatches {
    paths: Paths,
    partitions: Vec<Partition>,
    spill_in: PathBuf,
    spill: Option<tempfile::TempDir>,
    spill_after: usize,
    buffered: usize,
    len: usize,
    /// The partition of each blank node that a placed triple refers to.
    blank_home: HashMap<BlankKey, u32>,
    /// Triples about blank nodes nothing placed has referred to yet.
    waiting: HashMap<BlankNode, Vec<Triple>>,
    /// The classes of every imported subject.
    types: HashMap<String, Vec<NamedNode>>,
    /// Imported resources (IRIs without fragment).
    resources: HashSet<String>,
    /// Triples whose predicate the server mirrors, checked once all types are known.
    links: Partition,
}

impl ImportBatches {
    fn new(paths: Paths, expected_triples: usize, spill_in: &Path) -> Self {
        let count = expected_triples.div_ceil(TRIPLES_PER_PARTITION).max(1);
        Self {
            paths,
            partitions: (0..count).map(|_| Partition::default()).collect(),
            spill_in: spill_in.to_owned(),
            spill: None,
            spill_after: BUFFERED_TRIPLES,
            buffered: 0,
            len: 0,
            blank_home: HashMap::new(),
            waiting: HashMap::new(),
            types: HashMap::new(),
            resources: HashSet::new(),
            links: Partition::default(),
        }
    }

    /// Spills to disk once more than `triples` are held in memory (tests use it to spill
    /// small imports).
    pub fn spill_after(mut self, triples: usize) -> Self {
        self.spill_after = triples;
        self
    }

    /// How many partitions the import is dealt into.
    pub fn partitions(&self) -> usize {
        self.partitions.len()
    }

    /// How many triples were pushed (less those about containers, which are derived).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds one triple. Fails only when a spill file cannot be written.
    pub fn push(&mut self, triple: Triple) -> Result<(), LdpError> {
        match &triple.subject {
            NamedOrBlankNode::NamedNode(s) => {
                let iri = s.as_str();
                let resource = iri.split('#').next().unwrap_or(iri);
                // Containers and the root are derived by the server; their triples are not data.
                if resource == iri
                    && matches!(
                        self.paths.locate(iri),
                        Some(Location::Root | Location::Container(_))
                    )
                {
                    return Ok(());
                }
                if triple.predicate == rdf::TYPE
                    && let Term::NamedNode(class) = &triple.object
                {
                    let classes = self.types.entry(iri.to_owned()).or_default();
                    if !classes.contains(class) {
                        classes.push(class.clone());
                    }
                }
                if INVERSE_LINKS.iter().any(|r| triple.predicate == r.property) {
                    self.links.memory.push(triple.clone());
                    self.buffered += 1;
                }
                if !self.resources.contains(resource) {
                    self.resources.insert(resource.to_owned());
                }
                let home = self.partition_of(resource);
                self.len += 1;
                self.place(home, triple)
            }
            NamedOrBlankNode::BlankNode(b) => {
                self.len += 1;
                match self.blank_home.get(&BlankKey::of(b)) {
                    Some(&home) => self.place(home as usize, triple),
                    None => {
                        self.waiting.entry(b.clone()).or_default().push(triple);
                        Ok(())
                    }
                }
            }
        }
    }

    fn partition_of(&self, resource: &str) -> usize {
        // SipHash with fixed keys: the same resource lands in the same partition on
        // every run, which keeps test failures reproducible.
        let mut hasher = std::hash::DefaultHasher::new();
        resource.hash(&mut hasher);
        (hasher.finish() % self.partitions.len() as u64) as usize
    }

    /// Puts `triple` into partition `home`, with the triples of any blank node it is the
    /// first to refer to (and, transitively, theirs).
    fn place(&mut self, home: usize, triple: Triple) -> Result<(), LdpError> {
        let mut queue = vec![triple];
        while let Some(triple) = queue.pop() {
            if let Term::BlankNode(b) = &triple.object
                && let std::collections::hash_map::Entry::Vacant(entry) =
                    self.blank_home.entry(BlankKey::of(b))
            {
                entry.insert(home as u32);
                if let Some(waiting) = self.waiting.remove(b) {
                    queue.extend(waiting);
                }
            }
            self.partitions[home].memory.push(triple);
            self.buffered += 1;
        }
        if self.buffered > self.spill_after {
            self.spill_all()?;
        }
        Ok(())
    }

    /// Appends every partition's triples in memory to its file.
    fn spill_all(&mut self) -> Result<(), LdpError> {
        let dir = match &self.spill {
            Some(dir) => dir.path().to_owned(),
            None => {
                let dir = tempfile::Builder::new()
                    .prefix(".import-")
                    .tempdir_in(&self.spill_in)
                    .map_err(|e| spill_error(&self.spill_in, e))?;
                tracing::debug!(dir = %dir.path().display(), "import: spilling partitions");
                let path = dir.path().to_owned();
                self.spill = Some(dir);
                path
            }
        };
        for (i, partition) in self.partitions.iter_mut().enumerate() {
            partition
                .spill(|| dir.join(format!("partition-{i}.nt")))
                .map_err(|e| spill_error(&self.spill_in, e))?;
        }
        self.links
            .spill(|| dir.join("links.nt"))
            .map_err(|e| spill_error(&self.spill_in, e))?;
        self.buffered = 0;
        Ok(())
    }

    /// Checks that every blank node belongs to a resource, once all triples are in.
    fn check_blank_nodes(&mut self) -> Result<(), LdpError> {
        if let Some(orphan) = self.waiting.keys().next() {
            return Err(LdpError::Unprocessable(format!(
                "the blank node {orphan} is not reachable from any resource; give it an IRI or link it from one"
            )));
        }
        // Needed only while triples come in.
        self.blank_home = HashMap::new();
        Ok(())
    }

    /// Adds a link the server mirrors into the imported resource `target` to its
    /// partition, where it joins that resource's graph like its own triples.
    fn add_mirrored(&mut self, target: &NamedNode, inverse: Triple) -> Result<(), LdpError> {
        let home = self.partition_of(target.as_str());
        self.place(home, inverse)
    }

    /// Flushes the spill files: the partitions can then be read.
    fn close(&mut self) -> Result<(), LdpError> {
        for partition in &mut self.partitions {
            partition
                .close()
                .map_err(|e| spill_error(&self.spill_in, e))?;
        }
        Ok(())
    }

    /// Partition `i`'s triples, read back from its file and memory.
    fn triples_of(&self, i: usize) -> Result<Vec<Triple>, LdpError> {
        let mut triples = Vec::new();
        self.partitions[i].for_each(&self.spill_in, &mut |t| {
            triples.push(t);
            Ok(())
        })?;
        Ok(triples)
    }
}

/// A blank node's name, as a number when it is one (parsers name blank nodes with random
/// 128-bit numbers in lowercase hexadecimal): a tenth of the memory of the name, and an
/// import holds one per blank node while it reads.
#[derive(Debug, Hash, PartialEq, Eq)]
enum BlankKey {
    Number(u128),
    Name(Box<str>),
}

impl BlankKey {
    fn of(b: &BlankNode) -> Self {
        let name = b.as_str();
        // Only canonical numbers, so that two names never share a key ("a" and "0a").
        let canonical = (name == "0" || !name.starts_with('0'))
            && name.len() <= 32
            && name.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'));
        match u128::from_str_radix(name, 16) {
            Ok(n) if canonical => BlankKey::Number(n),
            _ => BlankKey::Name(name.into()),
        }
    }
}

fn spill_error(dir: &Path, e: impl std::fmt::Display) -> LdpError {
    LdpError::Spill {
        dir: dir.to_owned(),
        message: e.to_string(),
    }
}

/// One resource ready to validate or store.
struct Prepared {
    iri: NamedNode,
    kind: Kind,
    graph: Graph,
}

/// What the first partition's write carries besides its resources.
#[derive(Default)]
struct Extra {
    records: Vec<ChangeRecord>,
    quads: Vec<Quad>,
}

/// What the import knows about every resource while it works partition by partition.
struct Context<'a> {
    batches: &'a ImportBatches,
    /// The types of linked resources that are not imported but stored (empty: none).
    stored_types: HashMap<String, Vec<NamedNode>>,
    now: Literal,
}

impl Context<'_> {
    fn classes(&self, iri: &str) -> Option<&[NamedNode]> {
        classes_of(&self.batches.types, &self.stored_types, iri)
    }
}

/// The classes of `iri`, from the import, else from the store.
fn classes_of<'a>(
    imported: &'a HashMap<String, Vec<NamedNode>>,
    stored: &'a HashMap<String, Vec<NamedNode>>,
    iri: &str,
) -> Option<&'a [NamedNode]> {
    imported
        .get(iri)
        .or_else(|| stored.get(iri))
        .map(Vec::as_slice)
        .filter(|c| !c.is_empty())
}

fn has_class(
    imported: &HashMap<String, Vec<NamedNode>>,
    stored: &HashMap<String, Vec<NamedNode>>,
    iri: &str,
    classes: &[NamedNodeRef<'_>],
) -> bool {
    classes_of(imported, stored, iri)
        .is_some_and(|ts| ts.iter().any(|t| classes.contains(&t.as_ref())))
}

impl Directory {
    /// An empty batch for an import of about `expected_triples`, spilling (if it must)
    /// into a temporary directory under `spill_in`.
    pub fn import_batches(&self, expected_triples: usize, spill_in: &Path) -> ImportBatches {
        ImportBatches::new(self.paths().clone(), expected_triples, spill_in)
    }

    /// Imports `triples` (see [`import_from`](Self::import_from)), spilling to the system's
    /// temporary directory if they are many.
    pub fn import(
        &self,
        triples: Vec<Triple>,
        system: Vec<Quad>,
        progress: &dyn Fn(ImportStage, usize, usize),
        principal: &Principal,
    ) -> Result<ImportSummary, LdpError> {
        let mut batches = self.import_batches(triples.len(), &std::env::temp_dir());
        for t in triples {
            batches.push(t)?;
        }
        self.import_from(batches, system, progress, principal)
    }

    /// Imports the triples in `batches`, regrouped into resources by subject (IRIs
    /// without their fragment; blank nodes with the resource that refers to them). If any
    /// resource is invalid nothing is stored; otherwise all are: into an empty store in one
    /// bulk load, visible at once; into one that holds data, in one transaction per
    /// partition (a crash midway leaves some partitions stored: importing again replaces
    /// them).
    /// `system` holds accounts, token hashes, invitations and proposals from a backup
    /// export, stored as they are. `progress` gets the stage, partitions done and all.
    pub fn import_from(
        &self,
        mut batches: ImportBatches,
        system: Vec<Quad>,
        progress: &dyn Fn(ImportStage, usize, usize),
        principal: &Principal,
    ) -> Result<ImportSummary, LdpError> {
        self.access().check_server_admin(principal)?;
        let started = std::time::Instant::now();
        batches.check_blank_nodes()?;
        let count = batches.partitions();

        // Links the server mirrors (memberOf/member, broader/narrower): into imported
        // resources they join that resource's partition; into stored ones, they are added.
        let mut stored_types = HashMap::new();
        let mut external: Vec<Quad> = Vec::new();
        let mut links = std::mem::take(&mut batches.links);
        links
            .close()
            .map_err(|e| spill_error(&batches.spill_in, e))?;
        let spill_in = batches.spill_in.clone();
        links.for_each(&spill_in, &mut |link| {
            let (NamedOrBlankNode::NamedNode(source), Term::NamedNode(target)) =
                (&link.subject, &link.object)
            else {
                return Ok(());
            };
            if source.as_str().contains('#') {
                return Ok(());
            }
            self.learn_stored_types(&batches.types, &mut stored_types, target)?;
            for rule in INVERSE_LINKS
                .iter()
                .filter(|r| link.predicate == r.property)
            {
                let types = &batches.types;
                if !has_class(types, &stored_types, source.as_str(), rule.subject_classes)
                    || !has_class(types, &stored_types, target.as_str(), rule.object_classes)
                {
                    continue;
                }
                let inverse = Triple::new(target.clone(), rule.inverse, source.clone());
                if batches.resources.contains(target.as_str()) {
                    batches.add_mirrored(target, inverse)?;
                } else {
                    external.push(inverse.in_graph(target.clone()));
                }
            }
            Ok(())
        })?;
        drop(links);
        batches.close()?;
        let mut context = Context {
            batches: &batches,
            stored_types,
            now: now(),
        };

        let _guard = self.writer_lock();
        let paths = self.paths();
        let actor = principal.actor();
        let no_data_yet = !Kind::ALL.iter().any(|k| {
            self.store()
                .contains_graph(paths.container(*k).as_ref())
                .unwrap_or(true)
        });
        // Into an empty store, each partition goes to one bulk load once it is validated:
        // nothing is visible before the load's commit, which comes only if all conform.
        // Otherwise every partition is validated before the first is written.
        let mut loader = (no_data_yet && external.is_empty()).then(|| self.store().bulk_loader());
        // The first partition's write carries the links into stored resources (with a
        // record for each resource they touch) and the backup's system quads.
        let mut quads_stored = external.len();
        let mut first = Some(Extra {
            records: self.touched_records(&external, &actor)?,
            quads: external.into_iter().chain(system).collect(),
        });

        let mut report = ValidationReport {
            results: Vec::new(),
        };
        let mut schemes: HashSet<NamedNode> = HashSet::new();
        let mut resources = 0;
        for i in 0..count {
            progress(ImportStage::Validating, i, count);
            let prepared = self.prepare_partition(&mut context, i)?;
            resources += prepared.len();
            for p in &prepared {
                for o in p
                    .graph
                    .objects_for_subject_predicate(&p.iri, skos::IN_SCHEME)
                {
                    if let TermRef::NamedNode(s) = o {
                        schemes.insert(s.into_owned());
                    }
                }
            }
            report
                .results
                .extend(self.validate_all(&prepared, &context)?.results);
            if report.violations().count() >= MAX_REPORTED {
                break;
            }
            if let Some(loader) = &mut loader
                && report.conforms()
            {
                quads_stored += self.write_partition(
                    prepared,
                    first.take(),
                    no_data_yet,
                    &actor,
                    Some(loader),
                )?;
            }
        }
        progress(ImportStage::Validating, count, count);
        if !report.conforms() {
            return Err(LdpError::Invalid(report));
        }
        tracing::info!(
            resources,
            partitions = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "import: validated"
        );
        let missing_concepts = self.missing_concepts(&schemes, &batches.resources)?;
        match loader {
            Some(loader) => {
                progress(ImportStage::Writing, 0, 1);
                loader.commit()?;
                self.forget_renderings();
                progress(ImportStage::Writing, 1, 1);
            }
            None => {
                for i in 0..count {
                    progress(ImportStage::Writing, i, count);
                    let prepared = self.prepare_partition(&mut context, i)?;
                    quads_stored +=
                        self.write_partition(prepared, first.take(), no_data_yet, &actor, None)?;
                }
                progress(ImportStage::Writing, count, count);
            }
        }
        let summary = ImportSummary {
            resources,
            quads: quads_stored,
            partitions: count,
            missing_concepts,
        };
        tracing::info!(
            resources = summary.resources,
            quads = summary.quads,
            partitions = count,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "imported"
        );
        Ok(summary)
    }

    /// A record for each stored resource that links mirrored by the import touch.
    fn touched_records(
        &self,
        external: &[Quad],
        actor: &coopdir_store::Actor,
    ) -> Result<Vec<ChangeRecord>, LdpError> {
        let mut touched: Vec<&NamedNode> = Vec::new();
        for q in external {
            if let GraphName::NamedNode(g) = &q.graph_name
                && !touched.contains(&g)
            {
                touched.push(g);
            }
        }
        let mut records = Vec::new();
        for g in touched {
            if let Some(Location::Member(kind, _)) = self.paths().locate(g.as_str()) {
                let visibility = Visibility::of(&self.store().graph(g.as_ref())?, g.as_ref());
                records.push(self.record(
                    kind,
                    g,
                    Operation::Patch,
                    actor,
                    Some(visibility),
                    Some(visibility),
                ));
            }
        }
        Ok(records)
    }

    /// Stores one partition's resources, with their containment and change-log records
    /// (and `extra`, for the first): into `loader` if given, else in one transaction
    /// that replaces any stored version. Returns the quads written.
    fn write_partition(
        &self,
        prepared: Vec<Prepared>,
        extra: Option<Extra>,
        no_data_yet: bool,
        actor: &coopdir_store::Actor,
        loader: Option<&mut Box<dyn BulkLoad + '_>>,
    ) -> Result<usize, LdpError> {
        let paths = self.paths();
        let Extra {
            mut records,
            quads: mut extra,
        } = extra.unwrap_or_default();
        let mut containment: Vec<Quad> = Vec::with_capacity(prepared.len());
        for p in &prepared {
            let existed = !no_data_yet && self.store().contains_graph(p.iri.as_ref())?;
            let before = if existed {
                Some(Visibility::of(
                    &self.store().graph(p.iri.as_ref())?,
                    p.iri.as_ref(),
                ))
            } else {
                None
            };
            records.push(self.record(
                p.kind,
                &p.iri,
                if existed {
                    Operation::Replace
                } else {
                    Operation::Create
                },
                actor,
                before,
                Some(Visibility::of(&p.graph, p.iri.as_ref())),
            ));
            let container = paths.container(p.kind);
            containment.push(Quad::new(
                container.clone(),
                ldp::CONTAINS,
                p.iri.clone(),
                container,
            ));
        }
        let written = containment.len() + prepared.iter().map(|p| p.graph.len()).sum::<usize>();
        match loader {
            Some(loader) => {
                let mut quads = containment;
                quads.append(&mut extra);
                for p in prepared {
                    quads.extend(p.graph.iter().map(|t| t.in_graph(&p.iri).into_owned()));
                }
                loader.load(quads, records)?;
            }
            None => {
                // Resources replace any stored version; containment and the extra quads
                // are added.
                self.commit(&ChangeSet {
                    replace: prepared.into_iter().map(|p| (p.iri, p.graph)).collect(),
                    insert: containment.into_iter().chain(extra).collect(),
                    records,
                    ..Default::default()
                })?;
            }
        }
        Ok(written)
    }

    /// Looks up (once) the stored types of `iri` if the import does not say what it is.
    fn learn_stored_types(
        &self,
        imported: &HashMap<String, Vec<NamedNode>>,
        stored_types: &mut HashMap<String, Vec<NamedNode>>,
        iri: &NamedNode,
    ) -> Result<(), LdpError> {
        if imported.contains_key(iri.as_str()) || stored_types.contains_key(iri.as_str()) {
            return Ok(());
        }
        let stored: Vec<NamedNode> = self
            .store()
            .objects(iri.as_ref(), iri.as_ref(), rdf::TYPE)?
            .into_iter()
            .filter_map(|t| match t {
                Term::NamedNode(n) => Some(n),
                _ => None,
            })
            .collect();
        stored_types.insert(iri.as_str().to_owned(), stored);
        Ok(())
    }

    /// Partition `i`'s resources: each named subject's resource takes its triples and,
    /// transitively, those of the blank nodes it refers to, then what the server
    /// maintains (mirrored links, known skills, timestamps). Each needs a kind coopdir
    /// stores, and a local IRI must sit in that kind's container.
    fn prepare_partition(
        &self,
        context: &mut Context<'_>,
        i: usize,
    ) -> Result<Vec<Prepared>, LdpError> {
        let triples = context.batches.triples_of(i)?;
        let mut by_subject: HashMap<&NamedOrBlankNode, Vec<usize>> = HashMap::new();
        for (n, t) in triples.iter().enumerate() {
            by_subject.entry(&t.subject).or_default().push(n);
        }
        let mut groups: BTreeMap<NamedNode, Vec<usize>> = BTreeMap::new();
        let mut owned: HashSet<&NamedOrBlankNode> = HashSet::new();
        for (subject, indices) in &by_subject {
            let NamedOrBlankNode::NamedNode(s) = subject else {
                continue;
            };
            let resource =
                NamedNode::new_unchecked(s.as_str().split('#').next().unwrap_or(s.as_str()));
            let group = groups.entry(resource).or_default();
            let mut stack: Vec<&Vec<usize>> = vec![indices];
            while let Some(indices) = stack.pop() {
                for &n in indices {
                    group.push(n);
                    if let Term::BlankNode(b) = &triples[n].object
                        && let Some((key, inner)) =
                            by_subject.get_key_value(&NamedOrBlankNode::from(b.clone()))
                        && owned.insert(key)
                    {
                        stack.push(inner);
                    }
                }
            }
        }
        // What the resources link to that the import does not type: from the store.
        for t in &triples {
            if let Term::NamedNode(o) = &t.object
                && t.predicate != rdf::TYPE
            {
                self.learn_stored_types(&context.batches.types, &mut context.stored_types, o)?;
            }
        }
        let paths = self.paths();
        let mut prepared = Vec::with_capacity(groups.len());
        for (iri, indices) in groups {
            let kind = context
                .batches
                .types
                .get(iri.as_str())
                .and_then(|classes| classes.iter().find_map(|c| Kind::for_class(c.as_ref())))
                .ok_or_else(|| {
                    LdpError::Unprocessable(format!(
                        "{iri} has no type coopdir stores (schema:Organization, schema:Person, skos:Concept, skos:ConceptScheme, schema:Project)"
                    ))
                })?;
            if paths.is_local(iri.as_str()) {
                match paths.locate(iri.as_str()) {
                    Some(Location::Member(k, _)) if k == kind => {}
                    _ => {
                        return Err(LdpError::Unprocessable(format!(
                            "{iri} is a {} and must live in {}",
                            kind.class(),
                            paths.container(kind)
                        )));
                    }
                }
            }
            let mut graph = Graph::new();
            for n in indices {
                graph.insert(&triples[n]);
            }
            complete_known_skills(&mut graph, &iri);
            for p in [dcterms::CREATED, dcterms::MODIFIED] {
                if graph.object_for_subject_predicate(&iri, p).is_none() {
                    graph.insert(TripleRef::new(&iri, p, &context.now));
                }
            }
            prepared.push(Prepared { iri, kind, graph });
        }
        Ok(prepared)
    }

    /// Concepts stored in one of `schemes` that the import does not contain.
    /// A taxonomy update must not silently orphan people's skills, so they are kept and
    /// reported, with the number of people holding each.
    fn missing_concepts(
        &self,
        schemes: &HashSet<NamedNode>,
        imported: &HashSet<String>,
    ) -> Result<Vec<(NamedNode, usize)>, LdpError> {
        let mut missing = Vec::new();
        for scheme in schemes {
            for q in self.store().quads_with_object(scheme.as_ref().into())? {
                let (NamedOrBlankNode::NamedNode(concept), true) =
                    (&q.subject, q.predicate == skos::IN_SCHEME)
                else {
                    continue;
                };
                if imported.contains(concept.as_str()) || q.graph_name != concept.as_ref().into() {
                    continue;
                }
                let holders: HashSet<_> = self
                    .store()
                    .quads_with_object(concept.as_ref().into())?
                    .into_iter()
                    .filter(|h| h.predicate == dir::SKILL || h.predicate == schema::KNOWS_ABOUT)
                    .map(|h| h.graph_name)
                    .collect();
                missing.push((concept.clone(), holders.len()));
            }
        }
        missing.sort();
        missing.dedup();
        Ok(missing)
    }

    /// Validates each resource's graph, with the types of what it links to, on all cores.
    fn validate_all(
        &self,
        prepared: &[Prepared],
        context: &Context<'_>,
    ) -> Result<ValidationReport, LdpError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let chunk = prepared.len().div_ceil(threads).max(1);
        let shapes = &self.shapes().compiled;
        let results = std::thread::scope(|scope| {
            let workers: Vec<_> = prepared
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        let mut results = Vec::new();
                        for Prepared { graph, .. } in part {
                            let mut data = graph.clone();
                            let mut focus: Vec<Term> = Vec::new();
                            for t in graph.iter() {
                                if let oxigraph::model::NamedOrBlankNodeRef::NamedNode(s) =
                                    t.subject
                                    && !focus
                                        .iter()
                                        .any(|f| matches!(f, Term::NamedNode(n) if n.as_ref() == s))
                                {
                                    focus.push(s.into_owned().into());
                                }
                                if let TermRef::NamedNode(o) = t.object
                                    && t.predicate != rdf::TYPE
                                    && let Some(classes) = context.classes(o.as_str())
                                {
                                    for class in classes {
                                        data.insert(TripleRef::new(o, rdf::TYPE, class));
                                    }
                                }
                            }
                            results.extend(shapes.validate_nodes(&data, &focus).results);
                            if results.len() >= MAX_REPORTED {
                                break;
                            }
                        }
                        results
                    })
                })
                .collect();
            let mut all = Vec::new();
            for worker in workers {
                all.extend(
                    worker
                        .join()
                        .map_err(|_| LdpError::Internal("a validation thread panicked".into()))?,
                );
            }
            Ok::<_, LdpError>(all)
        })?;
        Ok(ValidationReport { results })
    }
}

#[cfg(test)]
mod tests {
    use super::BlankKey;
    use oxigraph::model::BlankNode;

    #[test]
    fn blank_keys_are_numbers_only_for_canonical_hexadecimal_names() {
        let key = |name: &str| BlankKey::of(&BlankNode::new(name).expect("blank node"));
        assert_eq!(key("a1"), BlankKey::Number(0xa1));
        assert_eq!(key("0a1"), BlankKey::Name("0a1".into()));
        assert_ne!(key("a1"), key("0a1"));
        assert_eq!(key("A1"), BlankKey::Name("A1".into()));
        assert_eq!(key("b0x"), BlankKey::Name("b0x".into()));
        let random = BlankNode::default();
        assert!(
            matches!(BlankKey::of(&random), BlankKey::Number(_)),
            "{random}"
        );
    }
}
