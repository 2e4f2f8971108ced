//! People joining the directory: an account and its worker resource (the person's WebID)
//! created in one transaction, by an operator or server admin, or by accepting a co-op
//! admin's invitation.

use coopdir_access::{AccountView, InvitationView, NewAccount, Principal};
use coopdir_store::{Actor, ChangeSet, Operation};
use coopdir_vocab::{Kind, Visibility, dir, schema};
use oxigraph::model::vocab::rdf;
use oxigraph::model::{Graph, Literal, NamedNode, Quad, Term, Triple};

use crate::directory::{Prepared, rename};
use crate::{Directory, LdpError};

/// What a person gets on this server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member,
    CoopAdmin,
    ServerAdmin,
}

/// A person to add.
#[derive(Debug, Clone)]
pub struct NewPerson {
    pub email: String,
    pub name: String,
    pub password: String,
    pub role: Role,
}

/// Someone who joined: their worker resource and account.
#[derive(Debug, Clone)]
pub struct Joined {
    pub worker: NamedNode,
    pub account: AccountView,
}

impl Directory {
    /// The co-op `coop` names (a slug or an IRI), if it exists.
    pub fn find_coop(&self, coop: &str) -> Result<NamedNode, LdpError> {
        let iri = if coop.contains(':') {
            NamedNode::new(coop).map_err(|_| LdpError::NotFound(coop.to_owned()))?
        } else {
            self.paths().member(Kind::Coop, coop)
        };
        let is_coop = self
            .store()
            .objects(iri.as_ref(), iri.as_ref(), rdf::TYPE)?
            .iter()
            .any(|t| matches!(t, Term::NamedNode(n) if n.as_ref() == schema::ORGANIZATION));
        if is_coop {
            Ok(iri)
        } else {
            Err(LdpError::NotFound(format!(
                "{iri} (no such co-op: GET /coops/ lists them)"
            )))
        }
    }

    /// A server admin (or the operator) adds a person to `coop` with an account.
    pub fn add_person(
        &self,
        coop: &NamedNode,
        person: NewPerson,
        principal: &Principal,
    ) -> Result<Joined, LdpError> {
        self.access().check_server_admin(principal)?;
        let actor = principal.actor();
        self.join(
            coop,
            &person.email,
            &person.name,
            &person.password,
            person.role,
            &actor,
            None,
        )
    }

    /// A co-op admin (or server admin) invites `email` to `coop`; returns the invitation
    /// and its secret (the link's last segment).
    pub fn invite(
        &self,
        coop: &NamedNode,
        email: &str,
        principal: &Principal,
    ) -> Result<(InvitationView, String), LdpError> {
        self.access().check_coop_admin(principal, coop)?;
        Ok(self
            .access()
            .create_invitation(coop, email, &principal.actor())?)
    }

    /// The invitee accepts: their account and worker resource are created in the
    /// invitation's co-op, and the invitation is used up.
    pub fn accept_invitation(
        &self,
        secret: &str,
        name: &str,
        password: &str,
    ) -> Result<Joined, LdpError> {
        let invitation = self.access().invitation(secret)?;
        let coop = self.find_coop(&invitation.coop)?;
        let actor = Actor::Invitation {
            invitation: invitation.id.clone(),
            account: String::new(),
        };
        self.join(
            &coop,
            &invitation.email,
            name,
            password,
            Role::Member,
            &actor,
            Some(secret),
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn join(
        &self,
        coop: &NamedNode,
        email: &str,
        name: &str,
        password: &str,
        role: Role,
        actor: &Actor,
        invitation: Option<&str>,
    ) -> Result<Joined, LdpError> {
        let email = coopdir_access::normalise_email(email)?;
        let provisional = self.provisional_iri(Kind::Worker);
        let mut graph = Graph::new();
        let about =
            |p: oxigraph::model::NamedNodeRef<'_>, o: Term| Triple::new(provisional.clone(), p, o);
        graph.insert(&about(rdf::TYPE, schema::PERSON.into_owned().into()));
        graph.insert(&about(schema::NAME, Literal::from(name.trim()).into()));
        graph.insert(&about(schema::EMAIL, Literal::from(email.as_str()).into()));
        graph.insert(&about(schema::MEMBER_OF, coop.clone().into()));
        graph.insert(&about(
            dir::VISIBILITY,
            Literal::from(Visibility::Public.as_str()).into(),
        ));

        // Account creation is serialised by the writer lock: two people cannot take one
        // address, and an invitation cannot be used twice.
        let _guard = self.writer_lock();
        let iri = self.free_iri(Kind::Worker, None, &graph, &provisional)?;
        let graph = rename(&graph, &provisional, &iri);
        let prepared_account = match invitation {
            Some(secret) => {
                self.access()
                    .prepare_acceptance(secret, name, password, iri.clone())?
            }
            None => self.access().prepare_account(
                NewAccount {
                    email,
                    name: name.to_owned(),
                    password: password.to_owned(),
                    worker: iri.clone(),
                    server_admin: role == Role::ServerAdmin,
                },
                actor,
            )?,
        };
        let actor = match actor {
            Actor::Invitation { invitation, .. } => Actor::Invitation {
                invitation: invitation.clone(),
                account: prepared_account.id().to_owned(),
            },
            other => other.clone(),
        };
        let graph = self.complete(Kind::Worker, &iri, graph, None, None)?;
        let mut extra: ChangeSet = prepared_account.changes.clone();
        // The co-op's graph changes anyway (it gains the member, logged as a side effect).
        if role == Role::CoopAdmin {
            extra.insert.push(Quad::new(
                coop.clone(),
                dir::ADMIN,
                iri.clone(),
                coop.clone(),
            ));
        }
        let prepared = Prepared {
            graph,
            decision: coopdir_access::WriteDecision::Allowed,
            operation: Operation::Create,
        };
        self.store_prepared(Kind::Worker, &iri, prepared, None, &actor, extra)?;
        let id = prepared_account.id().to_owned();
        self.access().account_stored(prepared_account);
        let account = self
            .access()
            .account(&id)
            .ok_or_else(|| LdpError::Internal("the new account is missing".into()))?;
        tracing::info!(worker = %iri, account = %id, "person joined");
        Ok(Joined {
            worker: iri,
            account,
        })
    }
}
