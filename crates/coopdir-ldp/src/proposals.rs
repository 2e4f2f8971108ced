//! Skills proposed by members: validated like any skill, kept outside the taxonomy until a
//! server admin accepts (the skill is created) or rejects them, so the taxonomy stays clean.

use coopdir_access::stored::{self, Stored};
use coopdir_access::{AccessError, Principal};
use coopdir_store::{ChangeRecord, ChangeSet, Operation};
use coopdir_syntax::{InputFormat, OutputFormat, parse_graph, write_graph};
use coopdir_vocab::{Kind, skos};
use oxigraph::model::{Graph, NamedNode, TermRef};
use serde::{Deserialize, Serialize};

use crate::directory::{WriteOutcome, now, rename};
use crate::{Directory, LdpError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Proposal {
    id: String,
    /// The IRI the skill was described under (renamed when it is accepted).
    iri: String,
    /// The skill's graph as N-Triples.
    graph: String,
    label: String,
    /// The proposing account's id.
    proposed_by: String,
    created: String,
}

impl Stored for Proposal {
    const KIND: &'static str = "skill-proposal";
    fn id(&self) -> &str {
        &self.id
    }
}

/// A proposal as shown to its author and to server admins.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProposalView {
    pub id: String,
    pub location: String,
    pub label: String,
    pub proposed_by: String,
    pub created: String,
    /// The proposed skill as Turtle.
    pub skill: String,
}

impl Directory {
    fn proposal_location(&self, id: &str) -> String {
        format!("{}admin/skill-proposals/{id}", self.paths().base())
    }

    fn proposal_view(&self, p: &Proposal) -> ProposalView {
        let graph = self.proposal_graph(p).unwrap_or_default();
        ProposalView {
            id: p.id.clone(),
            location: self.proposal_location(&p.id),
            label: p.label.clone(),
            proposed_by: p.proposed_by.clone(),
            created: p.created.clone(),
            skill: String::from_utf8_lossy(&write_graph(
                &graph,
                OutputFormat::Turtle,
                None,
                &self.paths().context(),
            ))
            .into_owned(),
        }
    }

    fn proposal_graph(&self, p: &Proposal) -> Result<Graph, LdpError> {
        Ok(parse_graph(
            p.graph.as_bytes(),
            InputFormat::NTriples,
            &p.iri,
            &[],
        )?)
    }

    fn proposal_record(
        &self,
        id: &str,
        operation: Operation,
        principal: &Principal,
    ) -> ChangeRecord {
        self.access()
            .system_record(Proposal::KIND, id, operation, &principal.actor())
    }

    /// Validates a member's new skill and keeps it as a proposal; the writer lock is held.
    pub(crate) fn store_proposal(
        &self,
        iri: &NamedNode,
        graph: Graph,
        principal: &Principal,
    ) -> Result<ProposalView, LdpError> {
        let Some(account) = principal.account_id() else {
            return Err(AccessError::Forbidden(
                "only people with an account propose skills".into(),
            )
            .into());
        };
        let report = self.validate(&graph, None)?;
        if !report.conforms() {
            return Err(LdpError::Invalid(report));
        }
        let label = graph
            .objects_for_subject_predicate(iri, skos::PREF_LABEL)
            .find_map(|t| match t {
                TermRef::Literal(l) => Some(l.value().to_owned()),
                _ => None,
            })
            .unwrap_or_default();
        let proposal = Proposal {
            id: uuid::Uuid::new_v4().simple().to_string(),
            iri: iri.as_str().to_owned(),
            graph: String::from_utf8_lossy(&write_graph(&graph, OutputFormat::NTriples, None, ""))
                .into_owned(),
            label,
            proposed_by: account.to_owned(),
            created: now().value().to_owned(),
        };
        let mut changes = ChangeSet::default();
        stored::put(&mut changes, &proposal)?;
        changes
            .records
            .push(self.proposal_record(&proposal.id, Operation::Create, principal));
        self.commit(&changes)?;
        tracing::info!(proposal = %proposal.id, "skill proposed");
        Ok(self.proposal_view(&proposal))
    }

    /// Open proposals: all of them for server admins, a member's own for them.
    pub fn proposals(&self, principal: &Principal) -> Result<Vec<ProposalView>, LdpError> {
        let mine = principal.account_id();
        let admin = principal.is_server_admin();
        let mut all: Vec<Proposal> = stored::load_all::<Proposal>(self.store().as_ref())?
            .into_iter()
            .filter(|p| admin || Some(p.proposed_by.as_str()) == mine)
            .collect();
        all.sort_by(|a, b| a.created.cmp(&b.created).then(a.id.cmp(&b.id)));
        Ok(all.iter().map(|p| self.proposal_view(p)).collect())
    }

    fn find_proposal(&self, id: &str, principal: &Principal) -> Result<Proposal, LdpError> {
        stored::load_all::<Proposal>(self.store().as_ref())?
            .into_iter()
            .find(|p| {
                p.id == id
                    && (principal.is_server_admin()
                        || Some(p.proposed_by.as_str()) == principal.account_id())
            })
            .ok_or_else(|| LdpError::NotFound(self.proposal_location(id)))
    }

    pub fn proposal(&self, id: &str, principal: &Principal) -> Result<ProposalView, LdpError> {
        Ok(self.proposal_view(&self.find_proposal(id, principal)?))
    }

    /// A server admin accepts a proposal: the skill is created (validated again against
    /// today's taxonomy) and the proposal removed, in one transaction.
    pub fn accept_proposal(
        &self,
        id: &str,
        principal: &Principal,
    ) -> Result<WriteOutcome, LdpError> {
        self.access().check_server_admin(principal)?;
        let _guard = self.writer_lock();
        let proposal = self.find_proposal(id, principal)?;
        let proposed = NamedNode::new_unchecked(proposal.iri.clone());
        let graph = self.proposal_graph(&proposal)?;
        let iri = self.free_iri(Kind::Skill, None, &graph, &proposed)?;
        let graph = rename(&graph, &proposed, &iri);
        let prepared = self.prepare(Kind::Skill, &iri, graph, None, false, principal)?;
        let mut extra = ChangeSet::default();
        stored::remove::<Proposal>(&mut extra, &proposal.id);
        extra
            .records
            .push(self.proposal_record(&proposal.id, Operation::Delete, principal));
        self.store_prepared(Kind::Skill, &iri, prepared, None, &principal.actor(), extra)
    }

    pub fn reject_proposal(&self, id: &str, principal: &Principal) -> Result<(), LdpError> {
        self.access().check_server_admin(principal)?;
        let _guard = self.writer_lock();
        let proposal = self.find_proposal(id, principal)?;
        let mut changes = ChangeSet::default();
        stored::remove::<Proposal>(&mut changes, &proposal.id);
        changes
            .records
            .push(self.proposal_record(&proposal.id, Operation::Delete, principal));
        self.commit(&changes)?;
        Ok(())
    }
}
