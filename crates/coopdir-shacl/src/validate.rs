//! Evaluating compiled shapes over a data graph.

use oxrdf::vocab::{rdf, xsd};
use oxrdf::{Graph, Literal, NamedNode, NamedOrBlankNodeRef, Term, TermRef};
use oxsdatatypes::{Boolean, Date, DateTime, Decimal, Double, Float, Integer, Time};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use crate::compile::{Constraint, NodeKind, Path, SUB_CLASS_OF, Shape, ShapeId, Target};
use crate::{SH, ShapesGraph, ValidationReport, ValidationResult};

impl ShapesGraph {
    /// Validates `data` against every shape that has a target.
    pub fn validate(&self, data: &Graph) -> ValidationReport {
        let mut results = Vec::new();
        let validator = Validator { shapes: self, data };
        for (index, shape) in self.shapes.iter().enumerate() {
            if shape.deactivated || shape.targets.is_empty() {
                continue;
            }
            for focus in validator.focus_nodes(shape) {
                validator.validate_shape(index, &focus, &mut results, 0);
            }
        }
        ValidationReport { results }
    }
}

impl ShapesGraph {
    /// Validates only the given focus nodes against the shapes that target them. Use this
    /// when `data` also holds context (such as the types of linked resources) that is
    /// not itself being validated.
    pub fn validate_nodes(&self, data: &Graph, focus_nodes: &[Term]) -> ValidationReport {
        let mut results = Vec::new();
        let validator = Validator { shapes: self, data };
        for (index, shape) in self.shapes.iter().enumerate() {
            if shape.deactivated || shape.targets.is_empty() {
                continue;
            }
            for focus in focus_nodes {
                if validator.is_target(shape, focus) {
                    validator.validate_shape(index, focus, &mut results, 0);
                }
            }
        }
        ValidationReport { results }
    }
}

struct Validator<'a> {
    shapes: &'a ShapesGraph,
    data: &'a Graph,
}

/// Shapes may refer to each other recursively; recursion in SHACL is undefined, so stop.
const MAX_DEPTH: usize = 64;

impl Validator<'_> {
    fn focus_nodes(&self, shape: &Shape) -> Vec<Term> {
        let mut nodes: Vec<Term> = Vec::new();
        let mut seen = HashSet::new();
        let mut push = |t: Term, nodes: &mut Vec<Term>| {
            if seen.insert(t.clone()) {
                nodes.push(t);
            }
        };
        for target in &shape.targets {
            match target {
                Target::Node(n) => push(n.clone(), &mut nodes),
                Target::Class(c) => {
                    for class in self.subclasses(c) {
                        for s in self.data.subjects_for_predicate_object(rdf::TYPE, &class) {
                            push(s.into_owned().into(), &mut nodes);
                        }
                    }
                }
                Target::SubjectsOf(p) => {
                    for t in self.data.triples_for_predicate(p) {
                        push(t.subject.into_owned().into(), &mut nodes);
                    }
                }
                Target::ObjectsOf(p) => {
                    for t in self.data.triples_for_predicate(p) {
                        push(t.object.into_owned(), &mut nodes);
                    }
                }
            }
        }
        nodes
    }

    fn is_target(&self, shape: &Shape, node: &Term) -> bool {
        shape.targets.iter().any(|target| match target {
            Target::Node(n) => n == node,
            Target::Class(c) => self.is_instance_of(node, c),
            Target::SubjectsOf(p) => as_subject(node.as_ref())
                .is_some_and(|s| self.data.object_for_subject_predicate(s, p).is_some()),
            Target::ObjectsOf(p) => self.data.subject_for_predicate_object(p, node).is_some(),
        })
    }

    /// `class` and every class declared (transitively) a subclass of it in the data.
    fn subclasses(&self, class: &NamedNode) -> Vec<Term> {
        let mut out: Vec<Term> = vec![class.clone().into()];
        let mut i = 0;
        while i < out.len() {
            let current = out[i].clone();
            for s in self
                .data
                .subjects_for_predicate_object(SUB_CLASS_OF, &current)
            {
                let s: Term = s.into_owned().into();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
            i += 1;
        }
        out
    }

    fn is_instance_of(&self, node: &Term, class: &NamedNode) -> bool {
        let Some(subject) = as_subject(node.as_ref()) else {
            return false;
        };
        let mut seen: Vec<Term> = self
            .data
            .objects_for_subject_predicate(subject, rdf::TYPE)
            .map(TermRef::into_owned)
            .collect();
        let target: Term = class.clone().into();
        let mut i = 0;
        while i < seen.len() {
            if seen[i] == target {
                return true;
            }
            if let Some(s) = as_subject(seen[i].as_ref()) {
                let supers: Vec<Term> = self
                    .data
                    .objects_for_subject_predicate(s, SUB_CLASS_OF)
                    .map(TermRef::into_owned)
                    .collect();
                for sup in supers {
                    if !seen.contains(&sup) {
                        seen.push(sup);
                    }
                }
            }
            i += 1;
        }
        false
    }

    fn conforms(&self, shape: ShapeId, node: &Term, depth: usize) -> bool {
        let mut results = Vec::new();
        self.validate_shape(shape, node, &mut results, depth + 1);
        // Any result, whatever its severity, means the node does not conform.
        results.is_empty()
    }

    fn validate_shape(
        &self,
        index: ShapeId,
        focus: &Term,
        results: &mut Vec<ValidationResult>,
        depth: usize,
    ) {
        let shape = &self.shapes.shapes[index];
        if shape.deactivated {
            return;
        }
        if depth > MAX_DEPTH {
            results.push(self.result(
                shape,
                focus,
                None,
                "NodeConstraintComponent",
                "shapes nest too deeply (recursive shapes are not supported)".into(),
            ));
            return;
        }
        let values = match &shape.path {
            Some(path) => self.eval_path(path, focus),
            None => vec![focus.clone()],
        };
        for constraint in &shape.constraints {
            self.check(shape, constraint, focus, &values, results, depth);
        }
    }

    fn check(
        &self,
        shape: &Shape,
        constraint: &Constraint,
        focus: &Term,
        values: &[Term],
        results: &mut Vec<ValidationResult>,
        depth: usize,
    ) {
        let label = self.label(shape);
        let mut per_value =
            |component: &str, ok: &dyn Fn(&Term) -> bool, msg: &dyn Fn(&Term) -> String| {
                for v in values {
                    if !ok(v) {
                        results.push(self.result(shape, focus, Some(v.clone()), component, msg(v)));
                    }
                }
            };
        match constraint {
            Constraint::Class(class) => per_value(
                "ClassConstraintComponent",
                &|v| self.is_instance_of(v, class),
                &|v| match v {
                    Term::NamedNode(_) => format!(
                        "{label}: {v} must be an existing {} (no such resource of that class)",
                        short(class.as_str())
                    ),
                    _ => format!(
                        "{label}: {v} must be an instance of {}",
                        short(class.as_str())
                    ),
                },
            ),
            Constraint::Datatype(datatype) => per_value(
                "DatatypeConstraintComponent",
                &|v| has_datatype(v, datatype),
                &|v| {
                    format!(
                        "{label}: {v} must be a well-formed {}",
                        short(datatype.as_str())
                    )
                },
            ),
            Constraint::NodeKind(kind) => per_value(
                "NodeKindConstraintComponent",
                &|v| node_kind_matches(*kind, v),
                &|v| format!("{label}: {v} must be {}", node_kind_name(*kind)),
            ),
            Constraint::MinCount(min) => {
                if values.len() < *min {
                    results.push(self.result(
                        shape,
                        focus,
                        None,
                        "MinCountConstraintComponent",
                        format!(
                            "{label} is required: at least {min} value{} needed, {} given",
                            if *min == 1 { "" } else { "s" },
                            values.len()
                        ),
                    ));
                }
            }
            Constraint::MaxCount(max) => {
                if values.len() > *max {
                    results.push(self.result(
                        shape,
                        focus,
                        None,
                        "MaxCountConstraintComponent",
                        format!(
                            "{label}: at most {max} value{} allowed, {} given",
                            if *max == 1 { "" } else { "s" },
                            values.len()
                        ),
                    ));
                }
            }
            Constraint::MinInclusive(bound) => per_value(
                "MinInclusiveConstraintComponent",
                &|v| matches!(compare(v, bound), Some(Ordering::Greater | Ordering::Equal)),
                &|v| format!("{label}: {v} must be at least {}", bound.value()),
            ),
            Constraint::MaxInclusive(bound) => per_value(
                "MaxInclusiveConstraintComponent",
                &|v| matches!(compare(v, bound), Some(Ordering::Less | Ordering::Equal)),
                &|v| format!("{label}: {v} must be at most {}", bound.value()),
            ),
            Constraint::MinExclusive(bound) => per_value(
                "MinExclusiveConstraintComponent",
                &|v| matches!(compare(v, bound), Some(Ordering::Greater)),
                &|v| format!("{label}: {v} must be greater than {}", bound.value()),
            ),
            Constraint::MaxExclusive(bound) => per_value(
                "MaxExclusiveConstraintComponent",
                &|v| matches!(compare(v, bound), Some(Ordering::Less)),
                &|v| format!("{label}: {v} must be less than {}", bound.value()),
            ),
            Constraint::MinLength(min) => per_value(
                "MinLengthConstraintComponent",
                &|v| string_value(v).is_some_and(|s| s.chars().count() >= *min),
                &|v| format!("{label}: {v} must be at least {min} characters long"),
            ),
            Constraint::MaxLength(max) => per_value(
                "MaxLengthConstraintComponent",
                &|v| string_value(v).is_some_and(|s| s.chars().count() <= *max),
                &|v| format!("{label}: {v} must be at most {max} characters long"),
            ),
            Constraint::Pattern { regex, source } => per_value(
                "PatternConstraintComponent",
                &|v| string_value(v).is_some_and(|s| regex.is_match(s)),
                &|v| format!("{label}: {v} does not match the pattern {source}"),
            ),
            Constraint::LanguageIn(tags) => per_value(
                "LanguageInConstraintComponent",
                &|v| match v {
                    Term::Literal(l) => l.language().is_some_and(|lang| {
                        let lang = lang.to_ascii_lowercase();
                        tags.iter()
                            .any(|t| t == "*" || lang == *t || lang.starts_with(&format!("{t}-")))
                    }),
                    _ => false,
                },
                &|v| {
                    format!(
                        "{label}: {v} must have one of the language tags {}",
                        tags.join(", ")
                    )
                },
            ),
            Constraint::UniqueLang => {
                let mut counts: HashMap<String, usize> = HashMap::new();
                let mut order = Vec::new();
                for v in values {
                    if let Term::Literal(l) = v
                        && let Some(lang) = l.language()
                    {
                        let lang = lang.to_ascii_lowercase();
                        let count = counts.entry(lang.clone()).or_insert(0);
                        *count += 1;
                        if *count == 2 {
                            order.push(lang);
                        }
                    }
                }
                for lang in order {
                    results.push(self.result(
                        shape,
                        focus,
                        None,
                        "UniqueLangConstraintComponent",
                        format!("{label}: only one value per language allowed, \"{lang}\" is used more than once"),
                    ));
                }
            }
            Constraint::In(allowed) => {
                per_value("InConstraintComponent", &|v| allowed.contains(v), &|v| {
                    let list: Vec<String> = allowed.iter().map(display_value).collect();
                    format!(
                        "{label}: {} is not one of {}",
                        display_value(v),
                        list.join(", ")
                    )
                })
            }
            Constraint::HasValue(expected) => {
                if !values.contains(expected) {
                    results.push(self.result(
                        shape,
                        focus,
                        None,
                        "HasValueConstraintComponent",
                        format!("{label} must include the value {expected}"),
                    ));
                }
            }
            Constraint::Node(node_shape) => {
                for v in values {
                    let mut nested = Vec::new();
                    self.validate_shape(*node_shape, v, &mut nested, depth + 1);
                    if !nested.is_empty() {
                        let detail: Vec<String> =
                            nested.iter().map(|r| r.message.clone()).collect();
                        let mut result = self.result(
                            shape,
                            focus,
                            Some(v.clone()),
                            "NodeConstraintComponent",
                            format!("{label}: {v} is not valid: {}", detail.join("; ")),
                        );
                        result.details = nested;
                        results.push(result);
                    }
                }
            }
            Constraint::Property(property_shape) => {
                for v in values {
                    self.validate_shape(*property_shape, v, results, depth + 1);
                }
            }
            Constraint::And(members) => per_value(
                "AndConstraintComponent",
                &|v| members.iter().all(|m| self.conforms(*m, v, depth)),
                &|v| format!("{label}: {v} does not satisfy all of the required shapes"),
            ),
            Constraint::Or(members) => per_value(
                "OrConstraintComponent",
                &|v| members.iter().any(|m| self.conforms(*m, v, depth)),
                &|v| {
                    format!(
                        "{label}: {v} satisfies none of the allowed alternatives ({})",
                        members
                            .iter()
                            .map(|m| self.describe(*m))
                            .collect::<Vec<_>>()
                            .join(" or ")
                    )
                },
            ),
            Constraint::Xone(members) => per_value(
                "XoneConstraintComponent",
                &|v| {
                    members
                        .iter()
                        .filter(|m| self.conforms(**m, v, depth))
                        .count()
                        == 1
                },
                &|v| format!("{label}: {v} must satisfy exactly one of the alternatives"),
            ),
            Constraint::Not(negated) => per_value(
                "NotConstraintComponent",
                &|v| !self.conforms(*negated, v, depth),
                &|v| format!("{label}: {v} must not satisfy {}", self.describe(*negated)),
            ),
            Constraint::QualifiedValueShape {
                shape: q,
                min,
                max,
                siblings,
            } => {
                let count = values
                    .iter()
                    .filter(|v| {
                        self.conforms(*q, v, depth)
                            && !siblings.iter().any(|s| self.conforms(*s, v, depth))
                    })
                    .count();
                if let Some(min) = min
                    && count < *min
                {
                    results.push(self.result(
                        shape,
                        focus,
                        None,
                        "QualifiedMinCountConstraintComponent",
                        format!(
                            "{label}: at least {min} value{} must be {}, {count} found",
                            if *min == 1 { "" } else { "s" },
                            self.describe(*q)
                        ),
                    ));
                }
                if let Some(max) = max
                    && count > *max
                {
                    results.push(self.result(
                        shape,
                        focus,
                        None,
                        "QualifiedMaxCountConstraintComponent",
                        format!(
                            "{label}: at most {max} value{} may be {}, {count} found",
                            if *max == 1 { "" } else { "s" },
                            self.describe(*q)
                        ),
                    ));
                }
            }
            Constraint::Closed { allowed } => {
                for v in values {
                    let Some(subject) = as_subject(v.as_ref()) else {
                        continue;
                    };
                    for t in self.data.triples_for_subject(subject) {
                        if !allowed.iter().any(|a| a.as_ref() == t.predicate) {
                            let mut r = self.result(
                                shape,
                                v,
                                Some(t.object.into_owned()),
                                "ClosedConstraintComponent",
                                format!("{} is not an allowed property here", t.predicate),
                            );
                            r.path = Some(t.predicate.into_owned());
                            r.path_display = Some(t.predicate.to_string());
                            results.push(r);
                        }
                    }
                }
            }
        }
    }

    /// A short description of a shape for messages: its class or datatype if it has one.
    fn describe(&self, shape: ShapeId) -> String {
        let s = &self.shapes.shapes[shape];
        for c in &s.constraints {
            match c {
                Constraint::Class(class) => return format!("a {}", short(class.as_str())),
                Constraint::Datatype(d) => return format!("a {}", short(d.as_str())),
                _ => {}
            }
        }
        s.id.to_string()
    }

    fn label(&self, shape: &Shape) -> String {
        if let Some(name) = &shape.name {
            return name.clone();
        }
        match &shape.path {
            Some(Path::Predicate(p)) => short(p.as_str()).to_owned(),
            Some(path) => path.display(),
            None => "value".into(),
        }
    }

    fn result(
        &self,
        shape: &Shape,
        focus: &Term,
        value: Option<Term>,
        component: &str,
        default_message: String,
    ) -> ValidationResult {
        let (path, path_display) = match &shape.path {
            Some(Path::Predicate(p)) => (Some(p.clone()), Some(p.to_string())),
            Some(other) => (None, Some(other.display())),
            None => (None, None),
        };
        ValidationResult {
            focus_node: focus.clone(),
            path,
            path_display,
            value,
            component: NamedNode::new_unchecked(format!("{SH}{component}")),
            source_shape: shape.id.clone(),
            severity: shape.severity,
            message: shape.messages.first().cloned().unwrap_or(default_message),
            details: Vec::new(),
        }
    }

    fn eval_path(&self, path: &Path, focus: &Term) -> Vec<Term> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        self.eval_path_into(path, focus, &mut out, &mut seen);
        out
    }

    fn eval_path_into(
        &self,
        path: &Path,
        focus: &Term,
        out: &mut Vec<Term>,
        seen: &mut HashSet<Term>,
    ) {
        let mut push = |t: Term, out: &mut Vec<Term>| {
            if seen.insert(t.clone()) {
                out.push(t);
            }
        };
        match path {
            Path::Predicate(p) => {
                if let Some(s) = as_subject(focus.as_ref()) {
                    for o in self.data.objects_for_subject_predicate(s, p) {
                        push(o.into_owned(), out);
                    }
                }
            }
            Path::Inverse(inner) => match inner.as_ref() {
                Path::Predicate(p) => {
                    for s in self.data.subjects_for_predicate_object(p, focus) {
                        push(s.into_owned().into(), out);
                    }
                }
                other => {
                    // ^(complex path): every node from which `other` reaches `focus`.
                    let candidates: Vec<Term> = self
                        .data
                        .iter()
                        .flat_map(|t| [t.subject.into_owned().into(), t.object.into_owned()])
                        .collect();
                    for c in candidates {
                        if self.eval_path(other, &c).contains(focus) {
                            push(c, out);
                        }
                    }
                }
            },
            Path::Sequence(steps) => {
                let mut current = vec![focus.clone()];
                for step in steps {
                    let mut next = Vec::new();
                    let mut next_seen = HashSet::new();
                    for node in &current {
                        self.eval_path_into(step, node, &mut next, &mut next_seen);
                    }
                    current = next;
                }
                for t in current {
                    push(t, out);
                }
            }
            Path::Alternative(options) => {
                for option in options {
                    for t in self.eval_path(option, focus) {
                        push(t, out);
                    }
                }
            }
            Path::ZeroOrOne(inner) => {
                push(focus.clone(), out);
                for t in self.eval_path(inner, focus) {
                    push(t, out);
                }
            }
            Path::ZeroOrMore(inner) | Path::OneOrMore(inner) => {
                let include_self = matches!(path, Path::ZeroOrMore(_));
                let mut reached: Vec<Term> = Vec::new();
                let mut reached_set = HashSet::new();
                let mut frontier = vec![focus.clone()];
                while let Some(node) = frontier.pop() {
                    for t in self.eval_path(inner, &node) {
                        if reached_set.insert(t.clone()) {
                            reached.push(t.clone());
                            frontier.push(t);
                        }
                    }
                }
                if include_self {
                    push(focus.clone(), out);
                }
                for t in reached {
                    push(t, out);
                }
            }
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

/// The last segment of an IRI, for messages people read.
fn short(iri: &str) -> &str {
    iri.rsplit(['#', '/'])
        .find(|s| !s.is_empty())
        .unwrap_or(iri)
}

fn display_value(term: &Term) -> String {
    match term {
        Term::Literal(l) if l.language().is_none() => format!("\"{}\"", l.value()),
        other => other.to_string(),
    }
}

fn string_value(term: &Term) -> Option<&str> {
    match term {
        Term::NamedNode(n) => Some(n.as_str()),
        Term::Literal(l) => Some(l.value()),
        Term::BlankNode(_) => None,
    }
}

fn node_kind_matches(kind: NodeKind, term: &Term) -> bool {
    let (iri, blank, literal) = match term {
        Term::NamedNode(_) => (true, false, false),
        Term::BlankNode(_) => (false, true, false),
        Term::Literal(_) => (false, false, true),
    };
    match kind {
        NodeKind::Iri => iri,
        NodeKind::BlankNode => blank,
        NodeKind::Literal => literal,
        NodeKind::BlankNodeOrIri => blank || iri,
        NodeKind::BlankNodeOrLiteral => blank || literal,
        NodeKind::IriOrLiteral => iri || literal,
    }
}

fn node_kind_name(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Iri => "an IRI",
        NodeKind::BlankNode => "a blank node",
        NodeKind::Literal => "a literal",
        NodeKind::BlankNodeOrIri => "an IRI or a blank node",
        NodeKind::BlankNodeOrLiteral => "a blank node or a literal",
        NodeKind::IriOrLiteral => "an IRI or a literal",
    }
}

/// A literal has a datatype when its datatype IRI matches and its lexical form is valid.
fn has_datatype(term: &Term, datatype: &NamedNode) -> bool {
    let Term::Literal(literal) = term else {
        return false;
    };
    if literal.datatype() != datatype.as_ref() {
        return false;
    }
    well_formed(literal)
}

fn well_formed(literal: &Literal) -> bool {
    let value = literal.value();
    let dt = literal.datatype();
    if dt == xsd::INTEGER {
        Integer::from_str(value).is_ok()
    } else if dt == xsd::DECIMAL {
        Decimal::from_str(value).is_ok()
    } else if dt == xsd::DOUBLE {
        Double::from_str(value).is_ok()
    } else if dt == xsd::FLOAT {
        Float::from_str(value).is_ok()
    } else if dt == xsd::BOOLEAN {
        Boolean::from_str(value).is_ok()
    } else if dt == xsd::DATE {
        Date::from_str(value).is_ok()
    } else if dt == xsd::DATE_TIME {
        DateTime::from_str(value).is_ok()
    } else if dt == xsd::TIME {
        Time::from_str(value).is_ok()
    } else if dt == xsd::NON_NEGATIVE_INTEGER {
        Integer::from_str(value).is_ok_and(|i| i >= Integer::from(0))
    } else if dt == xsd::POSITIVE_INTEGER {
        Integer::from_str(value).is_ok_and(|i| i > Integer::from(0))
    } else if dt == rdf::LANG_STRING {
        literal.language().is_some()
    } else {
        true
    }
}

/// Compares a value with a bound as SPARQL would; `None` when they are incomparable.
fn compare(value: &Term, bound: &Literal) -> Option<Ordering> {
    let Term::Literal(value) = value else {
        return None;
    };
    if !well_formed(value) || !well_formed(bound) {
        return None;
    }
    let numeric = |l: &Literal| -> Option<Decimal> {
        let dt = l.datatype();
        if dt == xsd::INTEGER
            || dt == xsd::DECIMAL
            || dt == xsd::NON_NEGATIVE_INTEGER
            || dt == xsd::POSITIVE_INTEGER
            || dt == xsd::INT
            || dt == xsd::LONG
        {
            Decimal::from_str(l.value()).ok()
        } else {
            None
        }
    };
    let double = |l: &Literal| -> Option<f64> {
        let dt = l.datatype();
        if dt == xsd::DOUBLE || dt == xsd::FLOAT {
            l.value().parse::<f64>().ok()
        } else {
            numeric(l).and_then(|d| d.to_string().parse::<f64>().ok())
        }
    };
    if let (Some(a), Some(b)) = (numeric(value), numeric(bound)) {
        return a.partial_cmp(&b);
    }
    if let (Some(a), Some(b)) = (double(value), double(bound)) {
        return a.partial_cmp(&b);
    }
    if value.datatype() == xsd::DATE && bound.datatype() == xsd::DATE {
        let (a, b) = (
            Date::from_str(value.value()).ok()?,
            Date::from_str(bound.value()).ok()?,
        );
        return a.partial_cmp(&b);
    }
    if value.datatype() == xsd::DATE_TIME && bound.datatype() == xsd::DATE_TIME {
        let a = DateTime::from_str(value.value()).ok()?;
        let b = DateTime::from_str(bound.value()).ok()?;
        return a.partial_cmp(&b);
    }
    if value.datatype() == xsd::STRING && bound.datatype() == xsd::STRING {
        return Some(value.value().cmp(bound.value()));
    }
    None
}
