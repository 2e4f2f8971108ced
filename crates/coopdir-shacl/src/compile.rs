//! Turning a shapes graph into compiled shapes.

use oxrdf::vocab::{rdf, rdfs};
use oxrdf::{
    Graph, Literal, NamedNode, NamedNodeRef, NamedOrBlankNode, NamedOrBlankNodeRef, Term, TermRef,
    TripleRef,
};
use regex::Regex;
use std::collections::HashMap;

use crate::SH;

#[derive(Debug, thiserror::Error)]
pub enum ShapesError {
    #[error("shapes are not valid Turtle: {0}")]
    Syntax(#[from] oxttl::TurtleSyntaxError),
    #[error("shape {shape}: {message}")]
    Invalid { shape: String, message: String },
    #[error("shape {shape} uses {feature}, which this validator does not support")]
    Unsupported { shape: String, feature: String },
}

fn sh(local: &str) -> NamedNode {
    NamedNode::new_unchecked(format!("{SH}{local}"))
}

/// A SHACL property path.
#[derive(Debug, Clone)]
pub(crate) enum Path {
    Predicate(NamedNode),
    Inverse(Box<Path>),
    Sequence(Vec<Path>),
    Alternative(Vec<Path>),
    ZeroOrMore(Box<Path>),
    OneOrMore(Box<Path>),
    ZeroOrOne(Box<Path>),
}

impl Path {
    pub(crate) fn display(&self) -> String {
        match self {
            Path::Predicate(p) => p.to_string(),
            Path::Inverse(p) => format!("^{}", p.display()),
            Path::Sequence(ps) => ps.iter().map(Path::display).collect::<Vec<_>>().join("/"),
            Path::Alternative(ps) => format!(
                "({})",
                ps.iter().map(Path::display).collect::<Vec<_>>().join("|")
            ),
            Path::ZeroOrMore(p) => format!("({})*", p.display()),
            Path::OneOrMore(p) => format!("({})+", p.display()),
            Path::ZeroOrOne(p) => format!("({})?", p.display()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeKind {
    Iri,
    BlankNode,
    Literal,
    BlankNodeOrIri,
    BlankNodeOrLiteral,
    IriOrLiteral,
}

#[derive(Debug, Clone)]
pub(crate) enum Target {
    Class(NamedNode),
    Node(Term),
    SubjectsOf(NamedNode),
    ObjectsOf(NamedNode),
}

pub(crate) type ShapeId = usize;

#[derive(Debug, Clone)]
pub(crate) enum Constraint {
    Class(NamedNode),
    Datatype(NamedNode),
    NodeKind(NodeKind),
    MinCount(usize),
    MaxCount(usize),
    MinInclusive(Literal),
    MaxInclusive(Literal),
    MinExclusive(Literal),
    MaxExclusive(Literal),
    MinLength(usize),
    MaxLength(usize),
    Pattern {
        regex: Regex,
        source: String,
    },
    LanguageIn(Vec<String>),
    UniqueLang,
    In(Vec<Term>),
    HasValue(Term),
    Node(ShapeId),
    Property(ShapeId),
    And(Vec<ShapeId>),
    Or(Vec<ShapeId>),
    Xone(Vec<ShapeId>),
    Not(ShapeId),
    QualifiedValueShape {
        shape: ShapeId,
        min: Option<usize>,
        max: Option<usize>,
        /// Sibling qualified shapes whose conforming values do not count (`sh:qualifiedValueShapesDisjoint`).
        siblings: Vec<ShapeId>,
    },
    Closed {
        allowed: Vec<NamedNode>,
    },
}

impl Constraint {
    /// The constraint component's local name without `ConstraintComponent`.
    pub(crate) fn component_name(&self) -> &'static str {
        match self {
            Constraint::Class(_) => "Class",
            Constraint::Datatype(_) => "Datatype",
            Constraint::NodeKind(_) => "NodeKind",
            Constraint::MinCount(_) => "MinCount",
            Constraint::MaxCount(_) => "MaxCount",
            Constraint::MinInclusive(_) => "MinInclusive",
            Constraint::MaxInclusive(_) => "MaxInclusive",
            Constraint::MinExclusive(_) => "MinExclusive",
            Constraint::MaxExclusive(_) => "MaxExclusive",
            Constraint::MinLength(_) => "MinLength",
            Constraint::MaxLength(_) => "MaxLength",
            Constraint::Pattern { .. } => "Pattern",
            Constraint::LanguageIn(_) => "LanguageIn",
            Constraint::UniqueLang => "UniqueLang",
            Constraint::In(_) => "In",
            Constraint::HasValue(_) => "HasValue",
            Constraint::Node(_) => "Node",
            Constraint::Property(_) => "Property",
            Constraint::And(_) => "And",
            Constraint::Or(_) => "Or",
            Constraint::Xone(_) => "Xone",
            Constraint::Not(_) => "Not",
            Constraint::QualifiedValueShape { .. } => "QualifiedValueShape",
            Constraint::Closed { .. } => "Closed",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Shape {
    pub id: NamedOrBlankNode,
    pub targets: Vec<Target>,
    pub path: Option<Path>,
    /// `sh:name`, used in messages in place of the path.
    pub name: Option<String>,
    pub constraints: Vec<Constraint>,
    pub severity: crate::Severity,
    pub messages: Vec<String>,
    pub deactivated: bool,
}

/// Compiled shapes, ready to validate data graphs.
#[derive(Debug, Clone, Default)]
pub struct ShapesGraph {
    pub(crate) shapes: Vec<Shape>,
}

const SUPPORTED_PARAMETERS: &[&str] = &[
    "targetClass",
    "targetNode",
    "targetSubjectsOf",
    "targetObjectsOf",
    "path",
    "property",
    "node",
    "class",
    "datatype",
    "nodeKind",
    "minCount",
    "maxCount",
    "minInclusive",
    "maxInclusive",
    "minExclusive",
    "maxExclusive",
    "minLength",
    "maxLength",
    "pattern",
    "flags",
    "languageIn",
    "uniqueLang",
    "in",
    "hasValue",
    "and",
    "or",
    "xone",
    "not",
    "qualifiedValueShape",
    "qualifiedMinCount",
    "qualifiedMaxCount",
    "qualifiedValueShapesDisjoint",
    "closed",
    "ignoredProperties",
    "severity",
    "message",
    "deactivated",
    "name",
    "description",
    "order",
    "group",
    "defaultValue",
];

const UNSUPPORTED_PARAMETERS: &[&str] = &[
    "equals",
    "disjoint",
    "lessThan",
    "lessThanOrEquals",
    "sparql",
    "target",
    "rule",
];

impl ShapesGraph {
    /// Parses shapes written in Turtle.
    pub fn from_turtle(turtle: &str, base_iri: Option<&str>) -> Result<Self, ShapesError> {
        let mut parser = oxttl::TurtleParser::new();
        if let Some(base) = base_iri {
            parser = parser
                .with_base_iri(base)
                .map_err(|e| ShapesError::Invalid {
                    shape: base.into(),
                    message: e.to_string(),
                })?;
        }
        let mut graph = Graph::new();
        for triple in parser.for_slice(turtle.as_bytes()) {
            graph.insert(&triple?);
        }
        Self::from_graph(&graph)
    }

    /// Compiles every shape in `graph`: subjects typed `sh:NodeShape`/`sh:PropertyShape`,
    /// subjects with a target or `sh:path`, and shapes reachable from those.
    pub fn from_graph(graph: &Graph) -> Result<Self, ShapesError> {
        let mut compiler = Compiler {
            graph,
            shapes: Vec::new(),
            ids: HashMap::new(),
        };
        let mut roots: Vec<NamedOrBlankNode> = Vec::new();
        for class in ["NodeShape", "PropertyShape"] {
            let class = sh(class);
            roots.extend(
                graph
                    .subjects_for_predicate_object(rdf::TYPE, &class)
                    .map(NamedOrBlankNodeRef::into_owned),
            );
        }
        for predicate in [
            "targetClass",
            "targetNode",
            "targetSubjectsOf",
            "targetObjectsOf",
            "path",
        ] {
            let predicate = sh(predicate);
            roots.extend(
                graph
                    .triples_for_predicate(&predicate)
                    .map(|t| t.subject.into_owned()),
            );
        }
        for root in roots {
            compiler.shape(root.as_ref())?;
        }
        Ok(ShapesGraph {
            shapes: compiler.shapes,
        })
    }

    /// Number of compiled shapes (node and property shapes).
    pub fn len(&self) -> usize {
        self.shapes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.shapes.is_empty()
    }

    /// Every constraint a data graph can violate directly: those of targeted shapes, of
    /// their property shapes, and of shapes reached through `sh:node`, as
    /// (path, constraint component local name) pairs. Shapes only used inside `sh:or`,
    /// `sh:not` or qualified value shapes are reported through those components instead.
    pub fn declared_constraints(&self) -> Vec<(Option<String>, String)> {
        let mut reachable: Vec<ShapeId> = (0..self.shapes.len())
            .filter(|i| !self.shapes[*i].targets.is_empty())
            .collect();
        let mut i = 0;
        while i < reachable.len() {
            for c in &self.shapes[reachable[i]].constraints {
                if let Constraint::Property(s) | Constraint::Node(s) = c
                    && !reachable.contains(s)
                {
                    reachable.push(*s);
                }
            }
            i += 1;
        }
        let mut out = Vec::new();
        for id in reachable {
            let shape = &self.shapes[id];
            let path = shape.path.as_ref().map(Path::display);
            for c in &shape.constraints {
                let component = match c {
                    Constraint::Property(_) => continue,
                    Constraint::QualifiedValueShape { min: Some(_), .. } => "QualifiedMinCount",
                    Constraint::QualifiedValueShape { .. } => "QualifiedMaxCount",
                    other => other.component_name(),
                };
                out.push((path.clone(), component.to_owned()));
            }
        }
        out
    }
}

struct Compiler<'a> {
    graph: &'a Graph,
    shapes: Vec<Shape>,
    ids: HashMap<NamedOrBlankNode, ShapeId>,
}

impl Compiler<'_> {
    fn objects(&self, subject: NamedOrBlankNodeRef<'_>, local: &str) -> Vec<TermRef<'_>> {
        let predicate = sh(local);
        self.graph
            .objects_for_subject_predicate(subject, &predicate)
            .collect()
    }

    fn object(&self, subject: NamedOrBlankNodeRef<'_>, local: &str) -> Option<TermRef<'_>> {
        let predicate = sh(local);
        self.graph.object_for_subject_predicate(subject, &predicate)
    }

    fn invalid(&self, shape: NamedOrBlankNodeRef<'_>, message: impl Into<String>) -> ShapesError {
        ShapesError::Invalid {
            shape: shape.to_string(),
            message: message.into(),
        }
    }

    fn shape(&mut self, id: NamedOrBlankNodeRef<'_>) -> Result<ShapeId, ShapesError> {
        if let Some(index) = self.ids.get(&id.into_owned()) {
            return Ok(*index);
        }
        // Reserve the slot first so that recursive shapes terminate.
        let index = self.shapes.len();
        self.ids.insert(id.into_owned(), index);
        self.shapes.push(Shape {
            id: id.into_owned(),
            targets: Vec::new(),
            path: None,
            name: None,
            constraints: Vec::new(),
            severity: crate::Severity::Violation,
            messages: Vec::new(),
            deactivated: false,
        });

        for t in self.graph.triples_for_subject(id) {
            let p = t.predicate.as_str();
            if let Some(local) = p.strip_prefix(SH) {
                if UNSUPPORTED_PARAMETERS.contains(&local) {
                    return Err(ShapesError::Unsupported {
                        shape: id.to_string(),
                        feature: format!("sh:{local}"),
                    });
                }
                if !SUPPORTED_PARAMETERS.contains(&local) {
                    return Err(ShapesError::Unsupported {
                        shape: id.to_string(),
                        feature: format!("sh:{local}"),
                    });
                }
            }
        }

        let mut targets = Vec::new();
        // Implicit class target: a shape that is also a class targets its instances.
        if let NamedOrBlankNodeRef::NamedNode(class) = id
            && (self
                .graph
                .contains(TripleRef::new(id, rdf::TYPE, rdfs::CLASS))
                || self
                    .graph
                    .contains(TripleRef::new(id, rdf::TYPE, OWL_CLASS)))
        {
            targets.push(Target::Class(class.into_owned()));
        }
        for o in self.objects(id, "targetClass") {
            targets.push(Target::Class(self.iri(id, o, "sh:targetClass")?));
        }
        for o in self.objects(id, "targetNode") {
            targets.push(Target::Node(o.into_owned()));
        }
        for o in self.objects(id, "targetSubjectsOf") {
            targets.push(Target::SubjectsOf(self.iri(
                id,
                o,
                "sh:targetSubjectsOf",
            )?));
        }
        for o in self.objects(id, "targetObjectsOf") {
            targets.push(Target::ObjectsOf(self.iri(id, o, "sh:targetObjectsOf")?));
        }
        let path = match self.object(id, "path") {
            Some(p) => Some(self.path(id, p, 0)?),
            None => None,
        };
        let name = self
            .object(id, "name")
            .and_then(literal_str)
            .map(str::to_owned);
        let severity = match self.object(id, "severity") {
            None => crate::Severity::Violation,
            Some(TermRef::NamedNode(n)) if n.as_str() == format!("{SH}Warning") => {
                crate::Severity::Warning
            }
            Some(TermRef::NamedNode(n)) if n.as_str() == format!("{SH}Info") => {
                crate::Severity::Info
            }
            Some(_) => crate::Severity::Violation,
        };
        let messages = self
            .objects(id, "message")
            .into_iter()
            .filter_map(literal_str)
            .map(str::to_owned)
            .collect();
        let deactivated = self
            .object(id, "deactivated")
            .and_then(literal_str)
            .is_some_and(|v| v == "true" || v == "1");

        let constraints = self.constraints(id, path.is_some())?;
        let shape = &mut self.shapes[index];
        shape.targets = targets;
        shape.path = path;
        shape.name = name;
        shape.severity = severity;
        shape.messages = messages;
        shape.deactivated = deactivated;
        shape.constraints = constraints;
        Ok(index)
    }

    fn constraints(
        &mut self,
        id: NamedOrBlankNodeRef<'_>,
        is_property_shape: bool,
    ) -> Result<Vec<Constraint>, ShapesError> {
        let mut constraints = Vec::new();
        for o in self.objects(id, "class") {
            constraints.push(Constraint::Class(self.iri(id, o, "sh:class")?));
        }
        for o in self.objects(id, "datatype") {
            constraints.push(Constraint::Datatype(self.iri(id, o, "sh:datatype")?));
        }
        for o in self.objects(id, "nodeKind") {
            let kind = match self.iri(id, o, "sh:nodeKind")?.as_str().strip_prefix(SH) {
                Some("IRI") => NodeKind::Iri,
                Some("BlankNode") => NodeKind::BlankNode,
                Some("Literal") => NodeKind::Literal,
                Some("BlankNodeOrIRI") => NodeKind::BlankNodeOrIri,
                Some("BlankNodeOrLiteral") => NodeKind::BlankNodeOrLiteral,
                Some("IRIOrLiteral") => NodeKind::IriOrLiteral,
                _ => return Err(self.invalid(id, "sh:nodeKind must be one of SHACL's node kinds")),
            };
            constraints.push(Constraint::NodeKind(kind));
        }
        if is_property_shape {
            for o in self.objects(id, "minCount") {
                constraints.push(Constraint::MinCount(self.count(id, o, "sh:minCount")?));
            }
            for o in self.objects(id, "maxCount") {
                constraints.push(Constraint::MaxCount(self.count(id, o, "sh:maxCount")?));
            }
            if self
                .object(id, "uniqueLang")
                .and_then(literal_str)
                .is_some_and(|v| v == "true")
            {
                constraints.push(Constraint::UniqueLang);
            }
        }
        for (local, make) in [
            (
                "minInclusive",
                Constraint::MinInclusive as fn(Literal) -> Constraint,
            ),
            ("maxInclusive", Constraint::MaxInclusive),
            ("minExclusive", Constraint::MinExclusive),
            ("maxExclusive", Constraint::MaxExclusive),
        ] {
            for o in self.objects(id, local) {
                match o {
                    TermRef::Literal(l) => constraints.push(make(l.into_owned())),
                    _ => return Err(self.invalid(id, format!("sh:{local} must be a literal"))),
                }
            }
        }
        for o in self.objects(id, "minLength") {
            constraints.push(Constraint::MinLength(self.count(id, o, "sh:minLength")?));
        }
        for o in self.objects(id, "maxLength") {
            constraints.push(Constraint::MaxLength(self.count(id, o, "sh:maxLength")?));
        }
        let flags = self
            .object(id, "flags")
            .and_then(literal_str)
            .unwrap_or("")
            .to_owned();
        for o in self.objects(id, "pattern") {
            let source = literal_str(o)
                .ok_or_else(|| self.invalid(id, "sh:pattern must be a string"))?
                .to_owned();
            let regex = compile_pattern(&source, &flags).map_err(|e| self.invalid(id, e))?;
            constraints.push(Constraint::Pattern { regex, source });
        }
        for o in self.objects(id, "languageIn") {
            let tags = self
                .list(id, o)?
                .into_iter()
                .map(|t| {
                    literal_str(t.as_ref())
                        .map(str::to_ascii_lowercase)
                        .ok_or_else(|| self.invalid(id, "sh:languageIn lists strings"))
                })
                .collect::<Result<_, _>>()?;
            constraints.push(Constraint::LanguageIn(tags));
        }
        for o in self.objects(id, "in") {
            let values = self.list(id, o)?;
            constraints.push(Constraint::In(values));
        }
        for o in self.objects(id, "hasValue") {
            constraints.push(Constraint::HasValue(o.into_owned()));
        }
        let property_shapes: Vec<_> = self
            .objects(id, "property")
            .into_iter()
            .map(TermRef::into_owned)
            .collect();
        for o in property_shapes {
            let shape = self.shape_ref(id, o.as_ref())?;
            constraints.push(Constraint::Property(shape));
        }
        let node_shapes: Vec<_> = self
            .objects(id, "node")
            .into_iter()
            .map(TermRef::into_owned)
            .collect();
        for o in node_shapes {
            let shape = self.shape_ref(id, o.as_ref())?;
            constraints.push(Constraint::Node(shape));
        }
        let not_shapes: Vec<_> = self
            .objects(id, "not")
            .into_iter()
            .map(TermRef::into_owned)
            .collect();
        for o in not_shapes {
            let shape = self.shape_ref(id, o.as_ref())?;
            constraints.push(Constraint::Not(shape));
        }
        for (local, make) in [
            ("and", Constraint::And as fn(Vec<ShapeId>) -> Constraint),
            ("or", Constraint::Or),
            ("xone", Constraint::Xone),
        ] {
            let lists: Vec<_> = self
                .objects(id, local)
                .into_iter()
                .map(TermRef::into_owned)
                .collect();
            for list in lists {
                let members = self.list(id, list.as_ref())?;
                let shapes = members
                    .iter()
                    .map(|m| self.shape_ref(id, m.as_ref()))
                    .collect::<Result<_, _>>()?;
                constraints.push(make(shapes));
            }
        }
        if is_property_shape {
            let qualified: Vec<_> = self
                .objects(id, "qualifiedValueShape")
                .into_iter()
                .map(TermRef::into_owned)
                .collect();
            for q in qualified {
                let shape = self.shape_ref(id, q.as_ref())?;
                let min = match self.object(id, "qualifiedMinCount") {
                    Some(o) => Some(self.count(id, o, "sh:qualifiedMinCount")?),
                    None => None,
                };
                let max = match self.object(id, "qualifiedMaxCount") {
                    Some(o) => Some(self.count(id, o, "sh:qualifiedMaxCount")?),
                    None => None,
                };
                let disjoint = self
                    .object(id, "qualifiedValueShapesDisjoint")
                    .and_then(literal_str)
                    .is_some_and(|v| v == "true");
                let siblings = if disjoint {
                    self.sibling_qualified_shapes(id)?
                        .into_iter()
                        .filter(|s| *s != shape)
                        .collect()
                } else {
                    Vec::new()
                };
                constraints.push(Constraint::QualifiedValueShape {
                    shape,
                    min,
                    max,
                    siblings,
                });
            }
        }
        if self
            .object(id, "closed")
            .and_then(literal_str)
            .is_some_and(|v| v == "true")
        {
            let mut allowed = Vec::new();
            let property = sh("property");
            let path = sh("path");
            for ps in self.graph.objects_for_subject_predicate(id, &property) {
                if let Some(TermRef::NamedNode(p)) =
                    as_subject(ps).and_then(|s| self.graph.object_for_subject_predicate(s, &path))
                {
                    allowed.push(p.into_owned());
                }
            }
            if let Some(list) = self.object(id, "ignoredProperties") {
                for t in self.list(id, list)? {
                    if let Term::NamedNode(n) = t {
                        allowed.push(n);
                    }
                }
            }
            constraints.push(Constraint::Closed { allowed });
        }
        Ok(constraints)
    }

    /// Qualified value shapes of the property shapes that share a parent shape with `id`.
    fn sibling_qualified_shapes(
        &mut self,
        id: NamedOrBlankNodeRef<'_>,
    ) -> Result<Vec<ShapeId>, ShapesError> {
        let property = sh("property");
        let qualified = sh("qualifiedValueShape");
        let parents: Vec<NamedOrBlankNode> = self
            .graph
            .subjects_for_predicate_object(&property, TermRef::from(id))
            .map(NamedOrBlankNodeRef::into_owned)
            .collect();
        let mut siblings = Vec::new();
        for parent in parents {
            let properties: Vec<Term> = self
                .graph
                .objects_for_subject_predicate(&parent, &property)
                .map(TermRef::into_owned)
                .collect();
            for p in properties {
                let Some(subject) = as_subject(p.as_ref()) else {
                    continue;
                };
                let shapes: Vec<Term> = self
                    .graph
                    .objects_for_subject_predicate(subject, &qualified)
                    .map(TermRef::into_owned)
                    .collect();
                for s in shapes {
                    siblings.push(self.shape_ref(id, s.as_ref())?);
                }
            }
        }
        Ok(siblings)
    }

    fn shape_ref(
        &mut self,
        from: NamedOrBlankNodeRef<'_>,
        term: TermRef<'_>,
    ) -> Result<ShapeId, ShapesError> {
        match as_subject(term) {
            Some(subject) => self.shape(subject),
            None => Err(self.invalid(from, format!("{term} is not a shape"))),
        }
    }

    fn iri(
        &self,
        shape: NamedOrBlankNodeRef<'_>,
        term: TermRef<'_>,
        what: &str,
    ) -> Result<NamedNode, ShapesError> {
        match term {
            TermRef::NamedNode(n) => Ok(n.into_owned()),
            _ => Err(self.invalid(shape, format!("{what} must be an IRI, found {term}"))),
        }
    }

    fn count(
        &self,
        shape: NamedOrBlankNodeRef<'_>,
        term: TermRef<'_>,
        what: &str,
    ) -> Result<usize, ShapesError> {
        literal_str(term)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                self.invalid(
                    shape,
                    format!("{what} must be a non-negative integer, found {term}"),
                )
            })
    }

    fn list(
        &self,
        shape: NamedOrBlankNodeRef<'_>,
        head: TermRef<'_>,
    ) -> Result<Vec<Term>, ShapesError> {
        let mut items = Vec::new();
        let mut current = head.into_owned();
        let nil: Term = rdf::NIL.into_owned().into();
        while current != nil {
            let Some(node) = as_subject(current.as_ref()) else {
                return Err(self.invalid(shape, "malformed RDF list"));
            };
            let first = self
                .graph
                .object_for_subject_predicate(node, rdf::FIRST)
                .ok_or_else(|| self.invalid(shape, "RDF list node without rdf:first"))?;
            items.push(first.into_owned());
            let rest = self
                .graph
                .object_for_subject_predicate(node, rdf::REST)
                .ok_or_else(|| self.invalid(shape, "RDF list node without rdf:rest"))?
                .into_owned();
            current = rest;
            if items.len() > 10_000 {
                return Err(self.invalid(shape, "RDF list too long or cyclic"));
            }
        }
        Ok(items)
    }

    fn path(
        &self,
        shape: NamedOrBlankNodeRef<'_>,
        term: TermRef<'_>,
        depth: usize,
    ) -> Result<Path, ShapesError> {
        if depth > 32 {
            return Err(self.invalid(shape, "sh:path nested too deeply"));
        }
        match term {
            TermRef::NamedNode(n) => Ok(Path::Predicate(n.into_owned())),
            TermRef::BlankNode(b) => {
                let node = NamedOrBlankNodeRef::from(b);
                if self
                    .graph
                    .object_for_subject_predicate(node, rdf::FIRST)
                    .is_some()
                {
                    let items = self.list(shape, term)?;
                    return Ok(Path::Sequence(
                        items
                            .iter()
                            .map(|i| self.path(shape, i.as_ref(), depth + 1))
                            .collect::<Result<_, _>>()?,
                    ));
                }
                let single = |local: &str| self.object(node, local);
                if let Some(inner) = single("inversePath") {
                    return Ok(Path::Inverse(Box::new(self.path(
                        shape,
                        inner,
                        depth + 1,
                    )?)));
                }
                if let Some(list) = single("alternativePath") {
                    let items = self.list(shape, list)?;
                    return Ok(Path::Alternative(
                        items
                            .iter()
                            .map(|i| self.path(shape, i.as_ref(), depth + 1))
                            .collect::<Result<_, _>>()?,
                    ));
                }
                if let Some(inner) = single("zeroOrMorePath") {
                    return Ok(Path::ZeroOrMore(Box::new(self.path(
                        shape,
                        inner,
                        depth + 1,
                    )?)));
                }
                if let Some(inner) = single("oneOrMorePath") {
                    return Ok(Path::OneOrMore(Box::new(self.path(
                        shape,
                        inner,
                        depth + 1,
                    )?)));
                }
                if let Some(inner) = single("zeroOrOnePath") {
                    return Ok(Path::ZeroOrOne(Box::new(self.path(
                        shape,
                        inner,
                        depth + 1,
                    )?)));
                }
                Err(self.invalid(shape, "unrecognised sh:path"))
            }
            TermRef::Literal(_) => Err(self.invalid(shape, "sh:path cannot be a literal")),
        }
    }
}

fn as_subject(term: TermRef<'_>) -> Option<NamedOrBlankNodeRef<'_>> {
    match term {
        TermRef::NamedNode(n) => Some(n.into()),
        TermRef::BlankNode(b) => Some(b.into()),
        TermRef::Literal(_) => None,
    }
}

pub(crate) fn literal_str(term: TermRef<'_>) -> Option<&str> {
    match term {
        TermRef::Literal(l) => Some(l.value()),
        _ => None,
    }
}

/// Translates `sh:pattern` + `sh:flags` (XPath regular expressions) into a Rust regex.
fn compile_pattern(pattern: &str, flags: &str) -> Result<Regex, String> {
    let mut prefix = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 's' | 'm' | 'x' => prefix.push(flag),
            'q' => return Err("sh:flags \"q\" is not supported".into()),
            other => return Err(format!("unknown sh:flags character {other:?}")),
        }
    }
    let source = if prefix.is_empty() {
        pattern.to_owned()
    } else {
        format!("(?{prefix}){pattern}")
    };
    Regex::new(&source).map_err(|e| format!("invalid sh:pattern: {e}"))
}

const OWL_CLASS: NamedNodeRef<'static> =
    NamedNodeRef::new_unchecked("http://www.w3.org/2002/07/owl#Class");

/// `rdfs:subClassOf` is read from the data graph for `sh:class` (SHACL instance semantics).
pub(crate) const SUB_CLASS_OF: NamedNodeRef<'static> = rdfs::SUB_CLASS_OF;
