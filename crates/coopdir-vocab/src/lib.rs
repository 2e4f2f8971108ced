//! The coopdir vocabulary: namespace IRIs, the classes and properties the server
//! understands, the published JSON-LD `@context` and the `/ns` vocabulary document.
//!
//! Everything here is public contract (see `shared/design/vocabulary.md`): peers
//! interoperate on these IRIs, so change them only with a migration plan.

use oxrdf::NamedNodeRef;

/// Namespace IRIs.
pub mod ns {
    pub const SCHEMA: &str = "http://schema.org/";
    pub const SKOS: &str = "http://www.w3.org/2004/02/skos/core#";
    pub const LDP: &str = "http://www.w3.org/ns/ldp#";
    pub const DCTERMS: &str = "http://purl.org/dc/terms/";
    pub const DIR: &str = "https://w3id.org/coopdir#";
    pub const AS: &str = "https://www.w3.org/ns/activitystreams#";
    pub const SH: &str = "http://www.w3.org/ns/shacl#";
    pub const XSD: &str = "http://www.w3.org/2001/XMLSchema#";
    pub const RDF: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
    pub const RDFS: &str = "http://www.w3.org/2000/01/rdf-schema#";
    pub const OWL: &str = "http://www.w3.org/2002/07/owl#";
}

macro_rules! iris {
    ($($name:ident = $iri:expr;)*) => {
        $(pub const $name: NamedNodeRef<'static> = NamedNodeRef::new_unchecked($iri);)*
    };
}

/// schema.org terms.
pub mod schema {
    use super::NamedNodeRef;
    iris! {
        ORGANIZATION = "http://schema.org/Organization";
        PERSON = "http://schema.org/Person";
        PROJECT = "http://schema.org/Project";
        NAME = "http://schema.org/name";
        DESCRIPTION = "http://schema.org/description";
        URL = "http://schema.org/url";
        EMAIL = "http://schema.org/email";
        TELEPHONE = "http://schema.org/telephone";
        LOCATION = "http://schema.org/location";
        MEMBER = "http://schema.org/member";
        MEMBER_OF = "http://schema.org/memberOf";
        GIVEN_NAME = "http://schema.org/givenName";
        FAMILY_NAME = "http://schema.org/familyName";
        JOB_TITLE = "http://schema.org/jobTitle";
        KNOWS_ABOUT = "http://schema.org/knowsAbout";
        SAME_AS = "http://schema.org/sameAs";
        SOURCE_ORGANIZATION = "http://schema.org/sourceOrganization";
        START_DATE = "http://schema.org/startDate";
        END_DATE = "http://schema.org/endDate";
    }
}

/// Our own namespace, `https://w3id.org/coopdir#`.
pub mod dir {
    use super::NamedNodeRef;
    iris! {
        ADMIN = "https://w3id.org/coopdir#admin";
        NETWORK = "https://w3id.org/coopdir#network";
        HAS_SKILL = "https://w3id.org/coopdir#hasSkill";
        SKILL = "https://w3id.org/coopdir#skill";
        LEVEL = "https://w3id.org/coopdir#level";
        YEARS = "https://w3id.org/coopdir#years";
        AVAILABILITY = "https://w3id.org/coopdir#availability";
        AVAILABLE_FROM = "https://w3id.org/coopdir#availableFrom";
        HOURS_PER_WEEK = "https://w3id.org/coopdir#hoursPerWeek";
        STATUS = "https://w3id.org/coopdir#status";
        LEAD = "https://w3id.org/coopdir#lead";
        REQUIRES_SKILL = "https://w3id.org/coopdir#requiresSkill";
        NEED = "https://w3id.org/coopdir#need";
        HEADCOUNT = "https://w3id.org/coopdir#headcount";
        VISIBILITY = "https://w3id.org/coopdir#visibility";
        PUBLIC_CONTACT = "https://w3id.org/coopdir#publicContact";
    }
}

/// SKOS terms.
pub mod skos {
    use super::NamedNodeRef;
    iris! {
        CONCEPT = "http://www.w3.org/2004/02/skos/core#Concept";
        CONCEPT_SCHEME = "http://www.w3.org/2004/02/skos/core#ConceptScheme";
        PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel";
        ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel";
        HIDDEN_LABEL = "http://www.w3.org/2004/02/skos/core#hiddenLabel";
        DEFINITION = "http://www.w3.org/2004/02/skos/core#definition";
        EXACT_MATCH = "http://www.w3.org/2004/02/skos/core#exactMatch";
        CLOSE_MATCH = "http://www.w3.org/2004/02/skos/core#closeMatch";
        BROADER = "http://www.w3.org/2004/02/skos/core#broader";
        NARROWER = "http://www.w3.org/2004/02/skos/core#narrower";
        IN_SCHEME = "http://www.w3.org/2004/02/skos/core#inScheme";
        HAS_TOP_CONCEPT = "http://www.w3.org/2004/02/skos/core#hasTopConcept";
        TOP_CONCEPT_OF = "http://www.w3.org/2004/02/skos/core#topConceptOf";
    }
}

/// Linked Data Platform terms.
pub mod ldp {
    use super::NamedNodeRef;
    iris! {
        RESOURCE = "http://www.w3.org/ns/ldp#Resource";
        RDF_SOURCE = "http://www.w3.org/ns/ldp#RDFSource";
        CONTAINER = "http://www.w3.org/ns/ldp#Container";
        BASIC_CONTAINER = "http://www.w3.org/ns/ldp#BasicContainer";
        CONTAINS = "http://www.w3.org/ns/ldp#contains";
        CONSTRAINED_BY = "http://www.w3.org/ns/ldp#constrainedBy";
        INBOX = "http://www.w3.org/ns/ldp#inbox";
        PREFER_MINIMAL_CONTAINER = "http://www.w3.org/ns/ldp#PreferMinimalContainer";
        PREFER_CONTAINMENT = "http://www.w3.org/ns/ldp#PreferContainment";
    }
}

/// Dublin Core terms.
pub mod dcterms {
    use super::NamedNodeRef;
    iris! {
        CREATED = "http://purl.org/dc/terms/created";
        MODIFIED = "http://purl.org/dc/terms/modified";
    }
}

/// The well-known IRI of our context; peers may reference it instead of a server's own
/// `/context.jsonld`, and it is never fetched: both resolve to [`CONTEXT`].
pub const CANONICAL_CONTEXT_IRI: &str = "https://w3id.org/coopdir/context.jsonld";

/// The published JSON-LD context (served at `/context.jsonld`).
pub const CONTEXT: &str = include_str!("context.jsonld");

/// The vocabulary document (served at `/ns`).
pub const VOCABULARY_TURTLE: &str = include_str!("ns.ttl");

/// The four kinds of resource the directory holds, each in its own LDP container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Coop,
    Worker,
    Skill,
    Project,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Coop, Kind::Worker, Kind::Skill, Kind::Project];

    /// The container path segment, e.g. `workers` for `/workers/`.
    pub fn container_segment(self) -> &'static str {
        match self {
            Kind::Coop => "coops",
            Kind::Worker => "workers",
            Kind::Skill => "skills",
            Kind::Project => "projects",
        }
    }

    pub fn from_container_segment(segment: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.container_segment() == segment)
    }

    /// The RDF class every member of the container has.
    pub fn class(self) -> NamedNodeRef<'static> {
        match self {
            Kind::Coop => schema::ORGANIZATION,
            Kind::Worker => schema::PERSON,
            Kind::Skill => skos::CONCEPT,
            Kind::Project => schema::PROJECT,
        }
    }

    /// Classes whose instances live in this kind's container (a concept scheme lives
    /// beside its concepts).
    pub fn member_classes(self) -> &'static [NamedNodeRef<'static>] {
        match self {
            Kind::Coop => &[schema::ORGANIZATION],
            Kind::Worker => &[schema::PERSON],
            Kind::Skill => &[skos::CONCEPT, skos::CONCEPT_SCHEME],
            Kind::Project => &[schema::PROJECT],
        }
    }

    /// The kind whose container holds instances of `class`.
    pub fn for_class(class: NamedNodeRef<'_>) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.member_classes().contains(&class))
    }

    /// The name of the SHACL shape (`/shapes/{name}`) describing this kind.
    pub fn shape_name(self) -> &'static str {
        match self {
            Kind::Coop => "coop",
            Kind::Worker => "worker",
            Kind::Skill => "skill",
            Kind::Project => "project",
        }
    }

    /// Properties shown in a container's member summaries, besides `rdf:type`.
    pub fn summary_properties(self) -> &'static [NamedNodeRef<'static>] {
        match self {
            Kind::Coop => &[schema::NAME, schema::LOCATION, schema::URL, dir::NETWORK],
            Kind::Worker => &[
                schema::NAME,
                schema::JOB_TITLE,
                schema::LOCATION,
                schema::MEMBER_OF,
                dir::AVAILABILITY,
                dir::VISIBILITY,
                dir::PUBLIC_CONTACT,
            ],
            Kind::Skill => &[skos::PREF_LABEL, skos::BROADER, skos::IN_SCHEME],
            Kind::Project => &[
                schema::NAME,
                dir::STATUS,
                dir::LEAD,
                schema::SOURCE_ORGANIZATION,
            ],
        }
    }
}

/// A person's contact details: shown only to logged-in readers unless the person opts in
/// with `dir:publicContact true`.
pub const CONTACT_PROPERTIES: &[NamedNodeRef<'static>] = &[schema::EMAIL, schema::TELEPHONE];

/// Who may see a worker (`dir:visibility`); co-ops, skills and projects are public.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Anyone, and shared with peer servers (the default).
    Public,
    /// Logged-in accounts of this server.
    Members,
    /// Members of the worker's own co-ops, their co-op admins and server admins.
    Private,
}

impl Visibility {
    pub const ALL: [Visibility; 3] = [Visibility::Public, Visibility::Members, Visibility::Private];

    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Members => "members",
            Visibility::Private => "private",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == value)
    }

    /// The visibility a resource's graph declares; anything but a worker is public, and
    /// so is a worker that says nothing.
    pub fn of(graph: &oxrdf::Graph, subject: NamedNodeRef<'_>) -> Self {
        if !graph.contains(oxrdf::TripleRef::new(
            subject,
            oxrdf::vocab::rdf::TYPE,
            schema::PERSON,
        )) {
            return Visibility::Public;
        }
        match graph.object_for_subject_predicate(subject, dir::VISIBILITY) {
            Some(oxrdf::TermRef::Literal(l)) => {
                Self::parse(l.value()).unwrap_or(Visibility::Private)
            }
            // Unreadable values hide rather than expose (the shape refuses them anyway).
            Some(_) => Visibility::Private,
            None => Visibility::Public,
        }
    }
}

/// Pairs of properties the server keeps mutually consistent: when `a --p--> b` is written,
/// `b --q--> a` is maintained in `b`'s graph, provided `b` has one of the listed classes.
pub struct InverseLink {
    pub property: NamedNodeRef<'static>,
    pub inverse: NamedNodeRef<'static>,
    /// Classes the subject must have for the link to be mirrored.
    pub subject_classes: &'static [NamedNodeRef<'static>],
    /// Classes the object must have for the link to be mirrored.
    pub object_classes: &'static [NamedNodeRef<'static>],
}

pub const INVERSE_LINKS: &[InverseLink] = &[
    // A worker's co-ops and projects, seen from the worker.
    InverseLink {
        property: schema::MEMBER_OF,
        inverse: schema::MEMBER,
        subject_classes: &[schema::PERSON],
        object_classes: &[schema::ORGANIZATION, schema::PROJECT],
    },
    // The same links seen from the co-op or project.
    InverseLink {
        property: schema::MEMBER,
        inverse: schema::MEMBER_OF,
        subject_classes: &[schema::ORGANIZATION, schema::PROJECT],
        object_classes: &[schema::PERSON],
    },
    InverseLink {
        property: skos::BROADER,
        inverse: skos::NARROWER,
        subject_classes: &[skos::CONCEPT],
        object_classes: &[skos::CONCEPT],
    },
    InverseLink {
        property: skos::NARROWER,
        inverse: skos::BROADER,
        subject_classes: &[skos::CONCEPT],
        object_classes: &[skos::CONCEPT],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_is_valid_json_with_a_context_key() {
        let value: serde_json::Value = serde_json::from_str(CONTEXT).expect("context is JSON");
        assert!(value.get("@context").is_some());
    }

    #[test]
    fn every_kind_round_trips_through_its_segment_and_class() {
        for kind in Kind::ALL {
            assert_eq!(
                Kind::from_container_segment(kind.container_segment()),
                Some(kind)
            );
            assert_eq!(Kind::for_class(kind.class()), Some(kind));
        }
    }
}
