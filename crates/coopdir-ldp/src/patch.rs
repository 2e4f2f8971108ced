//! PATCH formats: SPARQL Update (restricted to the target resource) and Solid N3 Patch.
//!
//! Both are applied to a copy of the resource's graph in an in-memory store; the result
//! then goes through the same validation as a PUT. `SERVICE` cannot reach out: oxigraph is
//! built without its HTTP client.

use oxigraph::model::{
    BlankNode, Graph, GraphName, GraphNameRef, Literal, NamedNode, NamedOrBlankNode, Term, Triple,
};
use oxigraph::sparql::{QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use oxttl::n3::{N3Quad, N3Term};
use spargebra::GraphUpdateOperation;
use spargebra::term::GraphNamePattern;
use std::collections::HashMap;

use crate::LdpError;

const SOLID: &str = "http://www.w3.org/ns/solid/terms#";

#[derive(Debug, Clone)]
pub enum Patch {
    SparqlUpdate(String),
    N3(String),
}

impl Patch {
    /// Applies the patch to `graph`, the content of `iri`, and returns the new content.
    pub fn apply(&self, graph: &Graph, iri: &NamedNode) -> Result<Graph, LdpError> {
        match self {
            Patch::SparqlUpdate(text) => apply_sparql_update(graph, iri, text),
            Patch::N3(text) => apply_n3_patch(graph, iri, text),
        }
    }
}

fn scratch_store(graph: &Graph) -> Result<Store, LdpError> {
    let store = Store::new().map_err(|e| LdpError::Internal(e.to_string()))?;
    store
        .extend(
            graph
                .iter()
                .map(|t| t.in_graph(GraphNameRef::DefaultGraph).into_owned()),
        )
        .map_err(|e| LdpError::Internal(e.to_string()))?;
    Ok(store)
}

fn default_graph(store: &Store) -> Result<Graph, LdpError> {
    let mut out = Graph::new();
    for quad in store.quads_for_pattern(None, None, None, Some(GraphNameRef::DefaultGraph)) {
        let quad = quad.map_err(|e| LdpError::Internal(e.to_string()))?;
        out.insert(&Triple::new(quad.subject, quad.predicate, quad.object));
    }
    Ok(out)
}

fn apply_sparql_update(graph: &Graph, iri: &NamedNode, text: &str) -> Result<Graph, LdpError> {
    let update = spargebra::SparqlParser::new()
        .with_base_iri(iri.as_str())
        .map_err(|e| LdpError::Internal(e.to_string()))?
        .parse_update(text)
        .map_err(|e| LdpError::BadPatch(format!("not a valid SPARQL Update: {e}")))?;
    for operation in &update.operations {
        fn only_default<'a>(mut names: impl Iterator<Item = &'a GraphNamePattern>) -> bool {
            names.all(|g| matches!(g, GraphNamePattern::DefaultGraph))
        }
        let default = spargebra::term::GraphName::DefaultGraph;
        let allowed = match operation {
            GraphUpdateOperation::InsertData { data } => {
                data.iter().all(|q| q.graph_name == default)
            }
            GraphUpdateOperation::DeleteData { data } => {
                data.iter().all(|q| q.graph_name == default)
            }
            GraphUpdateOperation::DeleteInsert {
                delete,
                insert,
                using,
                ..
            } => {
                using.is_none()
                    && only_default(delete.iter().map(|q| &q.graph_name))
                    && only_default(insert.iter().map(|q| &q.graph_name))
            }
            _ => false,
        };
        if !allowed {
            return Err(LdpError::BadPatch(
                "only INSERT DATA, DELETE DATA and DELETE/INSERT … WHERE on the resource itself are allowed (no GRAPH, USING, LOAD, CLEAR, CREATE, DROP)".into(),
            ));
        }
    }
    let store = scratch_store(graph)?;
    SparqlEvaluator::new()
        .for_update(update)
        .on_store(&store)
        .execute()
        .map_err(|e| LdpError::BadPatch(format!("the update failed: {e}")))?;
    default_graph(&store)
}

/// Solid N3 Patch: `?p a solid:InsertDeletePatch; solid:where {…}; solid:deletes {…};
/// solid:inserts {…}`. The `where` formula must match exactly once, and every triple to
/// delete must exist (otherwise 409, per the Solid Protocol).
fn apply_n3_patch(graph: &Graph, iri: &NamedNode, text: &str) -> Result<Graph, LdpError> {
    let quads: Vec<N3Quad> = oxttl::N3Parser::new()
        .with_base_iri(iri.as_str())
        .map_err(|e| LdpError::Internal(e.to_string()))?
        .for_slice(text.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| LdpError::BadPatch(format!("not valid N3: {e}")))?;

    let solid = |local: &str| format!("{SOLID}{local}");
    let is_iri = |t: &N3Term, iri: &str| matches!(t, N3Term::NamedNode(n) if n.as_str() == iri);
    let patch_nodes: Vec<&N3Term> = quads
        .iter()
        .filter(|q| {
            q.graph_name == GraphName::DefaultGraph
                && is_iri(
                    &q.predicate,
                    "http://www.w3.org/1999/02/22-rdf-syntax-ns#type",
                )
                && (is_iri(&q.object, &solid("InsertDeletePatch"))
                    || is_iri(&q.object, &solid("Patch")))
        })
        .map(|q| &q.subject)
        .collect();
    let [patch_node] = patch_nodes.as_slice() else {
        return Err(LdpError::BadPatch(
            "an N3 Patch must contain exactly one resource of type solid:InsertDeletePatch".into(),
        ));
    };
    let formula = |local: &str| -> Result<Vec<&N3Quad>, LdpError> {
        let heads: Vec<&N3Term> = quads
            .iter()
            .filter(|q| &&q.subject == patch_node && is_iri(&q.predicate, &solid(local)))
            .map(|q| &q.object)
            .collect();
        match heads.as_slice() {
            [] => Ok(Vec::new()),
            [N3Term::BlankNode(b)] => Ok(quads
                .iter()
                .filter(|q| matches!(&q.graph_name, GraphName::BlankNode(g) if g == b))
                .collect()),
            _ => Err(LdpError::BadPatch(format!(
                "solid:{local} must be one formula {{ … }}"
            ))),
        }
    };
    let where_ = formula("where")?;
    let deletes = formula("deletes")?;
    let inserts = formula("inserts")?;
    for q in where_.iter().chain(&deletes) {
        if [&q.subject, &q.predicate, &q.object]
            .iter()
            .any(|t| matches!(t, N3Term::BlankNode(_)))
        {
            return Err(LdpError::BadPatch(
                "blank nodes are not allowed in solid:where or solid:deletes".into(),
            ));
        }
    }

    let store = scratch_store(graph)?;
    let bindings: Vec<HashMap<String, Term>> = if where_.is_empty() {
        vec![HashMap::new()]
    } else {
        let patterns: Vec<String> = where_
            .iter()
            .map(|q| {
                format!(
                    "{} {} {} .",
                    sparql_term(&q.subject),
                    sparql_term(&q.predicate),
                    sparql_term(&q.object)
                )
            })
            .collect();
        let query = format!("SELECT * WHERE {{ {} }}", patterns.join(" "));
        let results = SparqlEvaluator::new()
            .parse_query(&query)
            .map_err(|e| LdpError::BadPatch(format!("invalid solid:where: {e}")))?
            .on_store(&store)
            .execute()
            .map_err(|e| LdpError::BadPatch(format!("invalid solid:where: {e}")))?;
        let QueryResults::Solutions(solutions) = results else {
            return Err(LdpError::Internal("SELECT did not return solutions".into()));
        };
        let mut rows = Vec::new();
        for solution in solutions {
            let solution = solution.map_err(|e| LdpError::Internal(e.to_string()))?;
            rows.push(
                solution
                    .iter()
                    .map(|(v, t)| (v.as_str().to_owned(), t.clone()))
                    .collect::<HashMap<_, _>>(),
            );
            if rows.len() > 1 {
                break;
            }
        }
        rows
    };
    let binding = match bindings.as_slice() {
        [one] => one,
        [] => {
            return Err(LdpError::Conflict(
                "the N3 Patch's solid:where matches nothing in the resource".into(),
            ));
        }
        _ => {
            return Err(LdpError::Conflict(
                "the N3 Patch's solid:where matches more than once; make it more specific".into(),
            ));
        }
    };

    let mut fresh: HashMap<String, BlankNode> = HashMap::new();
    let mut instantiate = |t: &N3Term| -> Result<Term, LdpError> {
        match t {
            N3Term::NamedNode(n) => Ok(n.clone().into()),
            N3Term::Literal(l) => Ok(l.clone().into()),
            N3Term::BlankNode(b) => Ok(fresh
                .entry(b.as_str().to_owned())
                .or_default()
                .clone()
                .into()),
            N3Term::Variable(v) => binding.get(v.as_str()).cloned().ok_or_else(|| {
                LdpError::BadPatch(format!("?{} is not bound by solid:where", v.as_str()))
            }),
            #[allow(unreachable_patterns)]
            _ => Err(LdpError::BadPatch("unsupported N3 term".into())),
        }
    };
    let mut to_triple = |q: &N3Quad| -> Result<Triple, LdpError> {
        let s: NamedOrBlankNode = match instantiate(&q.subject)? {
            Term::NamedNode(n) => n.into(),
            Term::BlankNode(b) => b.into(),
            _ => return Err(LdpError::BadPatch("a literal cannot be a subject".into())),
        };
        let p = match instantiate(&q.predicate)? {
            Term::NamedNode(n) => n,
            _ => return Err(LdpError::BadPatch("a predicate must be an IRI".into())),
        };
        let o = instantiate(&q.object)?;
        Ok(Triple::new(s, p, o))
    };
    let deletes: Vec<Triple> = deletes
        .iter()
        .map(|q| to_triple(q))
        .collect::<Result<_, _>>()?;
    let inserts: Vec<Triple> = inserts
        .iter()
        .map(|q| to_triple(q))
        .collect::<Result<_, _>>()?;
    let mut result = graph.clone();
    for t in &deletes {
        if !result.remove(t) {
            return Err(LdpError::Conflict(format!(
                "the N3 Patch deletes {t}, which the resource does not contain"
            )));
        }
    }
    for t in &inserts {
        result.insert(t);
    }
    Ok(result)
}

fn sparql_term(t: &N3Term) -> String {
    match t {
        N3Term::NamedNode(n) => n.to_string(),
        N3Term::Literal(l) => Literal::to_string(l),
        N3Term::Variable(v) => format!("?{}", v.as_str()),
        N3Term::BlankNode(b) => b.to_string(),
        #[allow(unreachable_patterns)]
        _ => String::new(),
    }
}
