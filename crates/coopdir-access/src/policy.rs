//! The rules: who may read and write what. Every read and write path asks here.
//!
//! | resource | read | create | replace, patch | delete |
//! |---|---|---|---|---|
//! | co-op | anyone | server admins | its admins (`dir:admin`) | server admins |
//! | worker | by `dir:visibility` (below) | its co-ops' admins | the person; co-op admins for profiles without an account | co-op admins, for profiles without an account |
//! | skill | anyone | server admins; members' POSTs become proposals | server admins | server admins |
//! | project | anyone | any member, who becomes its lead | its lead (`dir:lead`) | its lead |
//!
//! - Server admins (accounts with that role, admin tokens, the command line) may do
//!   everything; a worker that belongs to an active account is deleted only after the
//!   account is disabled.
//! - Visibility of a worker: `public` (anyone; the default), `members` (logged-in accounts),
//!   `private` (members of the worker's own co-ops, those co-ops' admins, server admins).
//!   What a principal may not see is answered as if it did not exist (404), on reads and
//!   writes alike, and never counted in a listing.
//! - Contact details (`schema:email`, `schema:telephone`) are shown to logged-in accounts,
//!   and to anyone when the person sets `dir:publicContact true`.
//! - Memberships: joining a co-op (`schema:memberOf` it, or being added to its
//!   `schema:member`) needs one of its admins; joining a project needs its lead. Anyone may
//!   leave a co-op or project (the shapes still want one co-op per worker). A project names
//!   as its `schema:sourceOrganization` only a co-op its lead belongs to.
//! - Anonymous principals may not write (401); known principals refused get 403.

use coopdir_store::GraphStore;
use coopdir_vocab::{Kind, Visibility, dir, schema};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, GraphName, NamedNode, NamedNodeRef, Term, TermRef};
use std::collections::BTreeSet;

use crate::{Access, AccessError, Principal};

/// What a principal asks to do to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Replace,
    Patch,
    Delete,
}

/// How an allowed write goes ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteDecision {
    Allowed,
    /// Stored as a proposal that a server admin accepts or rejects (a member's new skill).
    Proposal,
}

/// What the read rules need to know about a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerFacts {
    pub visibility: Visibility,
    /// The co-ops and projects the worker is `schema:memberOf`.
    pub memberships: Vec<NamedNode>,
    pub public_contact: bool,
}

impl WorkerFacts {
    pub fn from_graph(graph: &Graph, iri: &NamedNode) -> Self {
        Self {
            visibility: Visibility::of(graph, iri.as_ref()),
            memberships: named_objects(graph, iri, schema::MEMBER_OF)
                .into_iter()
                .collect(),
            public_contact: matches!(
                graph.object_for_subject_predicate(iri, dir::PUBLIC_CONTACT),
                Some(TermRef::Literal(l)) if l.value() == "true" || l.value() == "1"
            ),
        }
    }

    /// From a member summary's `(property, value)` pairs (which include the three needed).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a NamedNode, &'a Term)>) -> Self {
        let mut facts = WorkerFacts {
            visibility: Visibility::Public,
            memberships: Vec::new(),
            public_contact: false,
        };
        for (p, o) in pairs {
            match (p.as_ref(), o) {
                (p, Term::Literal(l)) if p == dir::VISIBILITY => {
                    facts.visibility = Visibility::parse(l.value()).unwrap_or(Visibility::Private);
                }
                (p, Term::NamedNode(n)) if p == schema::MEMBER_OF => {
                    facts.memberships.push(n.clone())
                }
                (p, Term::Literal(l)) if p == dir::PUBLIC_CONTACT => {
                    facts.public_contact = l.value() == "true" || l.value() == "1";
                }
                _ => {}
            }
        }
        facts
    }
}

/// Which workers a principal sees; equal audiences see the same listings, so listings
/// are cached per audience.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Audience {
    /// Anonymous: public workers only.
    Public,
    /// A logged-in account: public and members-only workers, and the private workers of
    /// `coops` (the co-ops it belongs to or administers, sorted).
    Members { coops: Vec<NamedNode> },
    /// Server admins.
    Everyone,
}

impl Audience {
    pub fn can_see(&self, worker: &WorkerFacts) -> bool {
        match (self, worker.visibility) {
            (Audience::Everyone, _) | (_, Visibility::Public) => true,
            (Audience::Public, _) => false,
            (Audience::Members { .. }, Visibility::Members) => true,
            (Audience::Members { coops }, Visibility::Private) => worker
                .memberships
                .iter()
                .any(|m| coops.binary_search(m).is_ok()),
        }
    }

    /// Whether the worker's contact details are shown to this audience.
    pub fn shows_contact(&self, worker: &WorkerFacts) -> bool {
        worker.public_contact || !matches!(self, Audience::Public)
    }
}

/// A person's roles, read from the data.
#[derive(Debug, Clone, Default)]
pub struct Roles {
    /// Co-ops and projects the worker is `schema:memberOf`.
    pub member_of: BTreeSet<NamedNode>,
    /// Co-ops naming the worker as `dir:admin`.
    pub admin_of: BTreeSet<NamedNode>,
    /// Projects naming the worker as `dir:lead`.
    pub lead_of: BTreeSet<NamedNode>,
}

fn named_objects(graph: &Graph, iri: &NamedNode, p: NamedNodeRef<'_>) -> BTreeSet<NamedNode> {
    graph
        .objects_for_subject_predicate(iri, p)
        .filter_map(|t| match t {
            TermRef::NamedNode(n) => Some(n.into_owned()),
            _ => None,
        })
        .collect()
}

fn forbidden(message: impl Into<String>) -> AccessError {
    AccessError::Forbidden(message.into())
}

impl Access {
    /// The roles of the person whose worker resource is `worker`.
    pub fn roles(&self, worker: &NamedNode) -> Result<Roles, AccessError> {
        let store: &dyn GraphStore = self.store();
        let mut roles = Roles {
            member_of: store
                .objects(worker.as_ref(), worker.as_ref(), schema::MEMBER_OF)?
                .into_iter()
                .filter_map(|t| match t {
                    Term::NamedNode(n) => Some(n),
                    _ => None,
                })
                .collect(),
            ..Default::default()
        };
        for quad in store.quads_with_object(worker.as_ref().into())? {
            let oxigraph::model::NamedOrBlankNode::NamedNode(subject) = quad.subject else {
                continue;
            };
            // Only a resource's statement about itself in its own graph confers a role.
            if quad.graph_name != GraphName::NamedNode(subject.clone()) {
                continue;
            }
            if quad.predicate == dir::ADMIN {
                roles.admin_of.insert(subject);
            } else if quad.predicate == dir::LEAD {
                roles.lead_of.insert(subject);
            }
        }
        Ok(roles)
    }

    fn has_type(&self, iri: &NamedNode, class: NamedNodeRef<'_>) -> Result<bool, AccessError> {
        Ok(self
            .store()
            .objects(iri.as_ref(), iri.as_ref(), rdf::TYPE)?
            .iter()
            .any(|t| matches!(t, Term::NamedNode(n) if n.as_ref() == class)))
    }

    /// Which workers `principal` sees (anonymous readers and server admins need no lookups).
    pub fn audience(&self, principal: &Principal) -> Result<Audience, AccessError> {
        if principal.is_server_admin() {
            return Ok(Audience::Everyone);
        }
        let Some(worker) = principal.worker() else {
            return Ok(Audience::Public);
        };
        let roles = self.roles(worker)?;
        let mut coops: BTreeSet<NamedNode> = roles.admin_of;
        for m in roles.member_of {
            if self.has_type(&m, schema::ORGANIZATION)? {
                coops.insert(m);
            }
        }
        Ok(Audience::Members {
            coops: coops.into_iter().collect(),
        })
    }

    /// Whether `principal` sees the worker described by `facts`: `None` if not, else
    /// whether its contact details are shown. Cheap for public workers (no lookups).
    pub fn read_view(
        &self,
        principal: &Principal,
        facts: &WorkerFacts,
    ) -> Result<Option<bool>, AccessError> {
        if facts.visibility == Visibility::Public || principal.is_server_admin() {
            return Ok(Some(!principal.is_anonymous() || facts.public_contact));
        }
        if principal.is_anonymous() {
            return Ok(None);
        }
        let audience = self.audience(principal)?;
        Ok(audience
            .can_see(facts)
            .then(|| audience.shows_contact(facts)))
    }

    /// Anonymous principals may not write at all.
    pub fn check_may_write(&self, principal: &Principal) -> Result<(), AccessError> {
        if principal.is_anonymous() {
            return Err(AccessError::Unauthenticated(
                "writes need a credential: log in (POST /login) or send `Authorization: Bearer <token>`".into(),
            ));
        }
        Ok(())
    }

    /// Account management, taxonomy proposals and the audit trail are for server admins.
    pub fn check_server_admin(&self, principal: &Principal) -> Result<(), AccessError> {
        if principal.is_server_admin() {
            Ok(())
        } else if principal.is_anonymous() {
            Err(AccessError::Unauthenticated(
                "this needs a server admin's credential: log in, or send `Authorization: Bearer <token>`".into(),
            ))
        } else {
            Err(forbidden("only server admins may do this"))
        }
    }

    /// Inviting people to `coop` and seeing its invitations: its admins and server admins.
    pub fn check_coop_admin(
        &self,
        principal: &Principal,
        coop: &NamedNode,
    ) -> Result<(), AccessError> {
        if principal.is_server_admin() {
            return Ok(());
        }
        let Some(me) = principal.worker() else {
            return self.check_server_admin(principal);
        };
        if self.roles(me)?.admin_of.contains(coop) {
            Ok(())
        } else {
            Err(forbidden(format!(
                "only the admins of {coop} (its dir:admin) and server admins may do this"
            )))
        }
    }

    /// Whether `principal` may write, and how. `old` is the stored graph (none when
    /// creating), `new` the graph the write would store (none when deleting).
    pub fn check_write(
        &self,
        principal: &Principal,
        action: Action,
        kind: Kind,
        iri: &NamedNode,
        old: Option<&Graph>,
        new: Option<&Graph>,
    ) -> Result<WriteDecision, AccessError> {
        self.check_may_write(principal)?;
        if kind == Kind::Worker
            && let Some(old) = old
            && !self
                .audience(principal)?
                .can_see(&WorkerFacts::from_graph(old, iri))
        {
            return Err(AccessError::NotFound(format!(
                "nothing at {iri}; GET / lists the containers"
            )));
        }
        if principal.is_server_admin() {
            if kind == Kind::Worker && action == Action::Delete {
                self.refuse_deleting_an_account_holder(iri)?;
            }
            return Ok(WriteDecision::Allowed);
        }
        let Some(me) = principal.worker() else {
            return Err(forbidden("this credential may not write"));
        };
        let roles = self.roles(me)?;
        match kind {
            Kind::Coop => match action {
                Action::Create | Action::Delete => {
                    Err(forbidden("only server admins create and delete co-ops"))
                }
                Action::Replace | Action::Patch if roles.admin_of.contains(iri) => {
                    Ok(WriteDecision::Allowed)
                }
                Action::Replace | Action::Patch => Err(forbidden(format!(
                    "only the admins of {iri} (its dir:admin) and server admins may change it"
                ))),
            },
            Kind::Skill => match action {
                Action::Create => Ok(WriteDecision::Proposal),
                _ => Err(forbidden(
                    "the skills taxonomy is kept by server admins: propose a new skill by POSTing it to /skills/",
                )),
            },
            Kind::Project => {
                if action == Action::Create {
                    let lead =
                        new.and_then(|g| named_objects(g, iri, dir::LEAD).into_iter().next());
                    if lead.as_ref() != Some(me) {
                        return Err(forbidden(
                            "you become the lead of the projects you create: leave dir:lead out, or name yourself",
                        ));
                    }
                } else if !roles.lead_of.contains(iri) {
                    return Err(forbidden(format!(
                        "only the lead of {iri} (its dir:lead) and server admins may change it"
                    )));
                }
                if let Some(new) = new {
                    self.check_source_organization(iri, old, new, &roles)?;
                }
                Ok(WriteDecision::Allowed)
            }
            Kind::Worker => self.check_worker_write(action, iri, me, &roles, old, new),
        }
    }

    fn check_worker_write(
        &self,
        action: Action,
        iri: &NamedNode,
        me: &NamedNode,
        roles: &Roles,
        old: Option<&Graph>,
        new: Option<&Graph>,
    ) -> Result<WriteDecision, AccessError> {
        let own = iri == me;
        let has_account = own || self.account_for_worker(iri.as_str()).is_some();
        let administered = old.is_some_and(|g| {
            named_objects(g, iri, schema::MEMBER_OF)
                .iter()
                .any(|c| roles.admin_of.contains(c))
        });
        match action {
            Action::Create => {
                if roles.admin_of.is_empty() {
                    return Err(forbidden(
                        "only co-op admins and server admins create profiles; people join a co-op through an invitation from its admin",
                    ));
                }
                self.check_memberships(iri, None, new, roles, false)?;
            }
            Action::Replace | Action::Patch => {
                if own || (!has_account && administered) {
                    self.check_memberships(iri, old, new, roles, own)?;
                } else if has_account {
                    return Err(forbidden(format!(
                        "{iri} belongs to a person with an account: only they (and server admins) may edit it"
                    )));
                } else {
                    return Err(forbidden(format!(
                        "only the admins of {iri}'s co-ops and server admins may edit it"
                    )));
                }
            }
            Action::Delete => {
                if own {
                    return Err(forbidden(
                        "to leave the directory, ask a server admin: your account goes with your profile",
                    ));
                }
                if has_account || !administered {
                    return Err(forbidden(format!(
                        "only server admins may delete {iri} (co-op admins may delete profiles without an account in their co-ops)"
                    )));
                }
            }
        }
        Ok(WriteDecision::Allowed)
    }

    /// Joining a co-op needs one of its admins, joining a project its lead; leaving needs
    /// the person, or the co-op's admins or project's lead.
    fn check_memberships(
        &self,
        iri: &NamedNode,
        old: Option<&Graph>,
        new: Option<&Graph>,
        roles: &Roles,
        own: bool,
    ) -> Result<(), AccessError> {
        let before = old
            .map(|g| named_objects(g, iri, schema::MEMBER_OF))
            .unwrap_or_default();
        let after = new
            .map(|g| named_objects(g, iri, schema::MEMBER_OF))
            .unwrap_or_default();
        for joined in after.difference(&before) {
            if self.has_type(joined, schema::ORGANIZATION)? && !roles.admin_of.contains(joined) {
                return Err(forbidden(format!(
                    "joining {joined} needs one of its admins: ask them to add the person to the co-op's members"
                )));
            }
            if self.has_type(joined, schema::PROJECT)? && !roles.lead_of.contains(joined) {
                return Err(forbidden(format!(
                    "joining the project {joined} needs its lead: ask them to add the person to its members"
                )));
            }
        }
        if !own {
            for left in before.difference(&after) {
                if !roles.admin_of.contains(left) && !roles.lead_of.contains(left) {
                    return Err(forbidden(format!(
                        "only the person, or the admins or lead of {left}, may end this membership"
                    )));
                }
            }
        }
        Ok(())
    }

    fn check_source_organization(
        &self,
        iri: &NamedNode,
        old: Option<&Graph>,
        new: &Graph,
        roles: &Roles,
    ) -> Result<(), AccessError> {
        let before = old.map(|g| named_objects(g, iri, schema::SOURCE_ORGANIZATION));
        let after = named_objects(new, iri, schema::SOURCE_ORGANIZATION);
        for coop in &after {
            let unchanged = before.as_ref().is_some_and(|b| b.contains(coop));
            if !unchanged && !roles.member_of.contains(coop) && !roles.admin_of.contains(coop) {
                return Err(forbidden(format!(
                    "a project may name as its sourceOrganization only a co-op its lead belongs to, and {coop} is not one of yours"
                )));
            }
        }
        Ok(())
    }

    fn refuse_deleting_an_account_holder(&self, iri: &NamedNode) -> Result<(), AccessError> {
        match self.account_for_worker(iri.as_str()) {
            Some(account) if account.state == crate::AccountState::Active => {
                Err(AccessError::Conflict(format!(
                    "{iri} belongs to the active account {}: disable the account first (`coopdir user disable {}`)",
                    account.id, account.email
                )))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NamedNode {
        NamedNode::new_unchecked(s)
    }

    fn worker(visibility: Visibility, coops: &[&str]) -> WorkerFacts {
        WorkerFacts {
            visibility,
            memberships: coops.iter().map(|c| n(c)).collect(),
            public_contact: false,
        }
    }

    #[test]
    fn each_audience_sees_the_workers_the_rules_say() {
        let members_a = Audience::Members {
            coops: vec![n("http://x/coops/a")],
        };
        let public = worker(Visibility::Public, &["http://x/coops/a"]);
        let members = worker(Visibility::Members, &["http://x/coops/b"]);
        let private_a = worker(Visibility::Private, &["http://x/coops/a"]);
        let private_b = worker(Visibility::Private, &["http://x/coops/b"]);
        assert!(Audience::Public.can_see(&public));
        assert!(!Audience::Public.can_see(&members));
        assert!(!Audience::Public.can_see(&private_a));
        assert!(members_a.can_see(&members));
        assert!(members_a.can_see(&private_a));
        assert!(!members_a.can_see(&private_b));
        assert!(Audience::Everyone.can_see(&private_b));
    }

    #[test]
    fn contact_details_need_a_login_or_the_persons_consent() {
        let mut w = worker(Visibility::Public, &[]);
        assert!(!Audience::Public.shows_contact(&w));
        assert!(Audience::Members { coops: vec![] }.shows_contact(&w));
        w.public_contact = true;
        assert!(Audience::Public.shows_contact(&w));
    }

    #[test]
    fn facts_come_alike_from_a_graph_and_from_summary_pairs() {
        let iri = n("http://x/workers/w");
        let mut g = Graph::new();
        let t = |p: NamedNodeRef<'_>, o: Term| oxigraph::model::Triple::new(iri.clone(), p, o);
        g.insert(&t(rdf::TYPE, schema::PERSON.into_owned().into()));
        g.insert(&t(
            dir::VISIBILITY,
            oxigraph::model::Literal::from("private").into(),
        ));
        g.insert(&t(schema::MEMBER_OF, n("http://x/coops/a").into()));
        g.insert(&t(
            dir::PUBLIC_CONTACT,
            oxigraph::model::Literal::from(true).into(),
        ));
        let from_graph = WorkerFacts::from_graph(&g, &iri);
        let pairs: Vec<(NamedNode, Term)> = g
            .iter()
            .map(|t| (t.predicate.into_owned(), t.object.into_owned()))
            .collect();
        let from_pairs = WorkerFacts::from_pairs(pairs.iter().map(|(p, o)| (p, o)));
        assert_eq!(from_graph, from_pairs);
        assert_eq!(from_graph.visibility, Visibility::Private);
        assert!(from_graph.public_contact);
    }
}
