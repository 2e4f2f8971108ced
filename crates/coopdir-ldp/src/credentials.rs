//! Bearer tokens for writes, stored hashed in the system graph.
//!
//! Tokens are 256 random bits, so a plain SHA-256 is enough to store them safely (a slow
//! password hash protects low-entropy secrets; these are not).

use coopdir_store::{ChangeSet, GraphStore, SYSTEM_GRAPH, StoreError};
use oxigraph::model::{Literal, NamedNode, NamedNodeRef, Quad, Term};
use rand::RngCore;
use sha2::{Digest, Sha256};

const TOKEN_HASH: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:tokenHash");
const TOKEN_ROLE: NamedNodeRef<'static> = NamedNodeRef::new_unchecked("urn:coopdir:role");

pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates an admin token, stores its hash and returns the token itself.
pub fn create_admin_token(store: &dyn GraphStore) -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("cdt_{}", hex::encode(bytes));
    let id = NamedNode::new_unchecked(format!("urn:coopdir:token:{}", uuid::Uuid::new_v4()));
    let changes = ChangeSet {
        insert: vec![
            Quad::new(
                id.clone(),
                TOKEN_HASH,
                Literal::from(hash(&token)),
                SYSTEM_GRAPH,
            ),
            Quad::new(id, TOKEN_ROLE, Literal::from("admin"), SYSTEM_GRAPH),
        ],
        ..Default::default()
    };
    store.apply(&changes)?;
    Ok(token)
}

/// Hashes of every stored admin token.
pub fn admin_token_hashes(store: &dyn GraphStore) -> Result<Vec<String>, StoreError> {
    let graph = store.graph(SYSTEM_GRAPH)?;
    Ok(graph
        .triples_for_predicate(TOKEN_HASH)
        .filter_map(|t| match t.object.into_owned() {
            Term::Literal(l) => Some(l.value().to_owned()),
            _ => None,
        })
        .collect())
}
