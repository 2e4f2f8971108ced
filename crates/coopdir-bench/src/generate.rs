//! Realistic data: co-ops, workers with 3 to 10 qualified skills drawn from the demo
//! taxonomy, projects that need skills. Deterministic for a given size.

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use std::io::Write;
use std::path::Path;

const TAXONOMY: &str = include_str!("../../../fixtures/demo/taxonomy.ttl");
const LEVELS: [&str; 3] = ["beginner", "intermediate", "expert"];
const AVAILABILITY: [&str; 3] = ["available", "partly", "unavailable"];
const GIVEN: [&str; 16] = [
    "Ada", "Bea", "Cai", "Dara", "Eli", "Fatima", "Gwen", "Hugo", "Ines", "Jonah", "Kemi", "Lior",
    "Maya", "Niall", "Oona", "Priya",
];
const FAMILY: [&str; 16] = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Castell",
    "Nakamura",
    "Brennan",
    "Haddad",
    "Ferreira",
    "Kowalski",
    "Mbeki",
    "Duarte",
    "Sato",
    "Novak",
    "Adeyemi",
    "Thorne",
    "Rahman",
];
const PLACES: [&str; 8] = [
    "Manchester, UK",
    "Leeds, UK",
    "Bristol, UK",
    "Glasgow, UK",
    "London, UK",
    "Sheffield, UK",
    "Cardiff, UK",
    "Oxford, UK",
];

/// Slugs of the taxonomy's concepts.
pub fn skill_slugs() -> Vec<&'static str> {
    TAXONOMY
        .lines()
        .filter_map(|l| l.strip_prefix("<skills/"))
        .filter_map(|l| l.split_once("> a skos:Concept ").map(|(slug, _)| slug))
        .collect()
}

pub fn worker_slug(i: usize) -> String {
    format!("bench-worker-{i}")
}

pub fn coop_slug(i: usize) -> String {
    format!("bench-coop-{i}")
}

fn worker_turtle(
    rng: &mut StdRng,
    skills: &[&str],
    base: &str,
    subject: &str,
    i: usize,
    coops: usize,
) -> String {
    let name = format!(
        "{} {} {i}",
        GIVEN[i % GIVEN.len()],
        FAMILY[(i / GIVEN.len()) % FAMILY.len()]
    );
    let count = rng.random_range(3..=10);
    let chosen: Vec<&&str> = skills.choose_multiple(rng, count).collect();
    let qualified: Vec<String> = chosen
        .iter()
        .map(|s| {
            format!(
                "[ dir:skill <{base}skills/{s}> ; dir:level \"{}\" ; dir:years {} ]",
                LEVELS.choose(rng).unwrap_or(&"expert"),
                rng.random_range(0..20)
            )
        })
        .collect();
    format!(
        "{subject} a schema:Person ; schema:name \"{name}\" ; schema:email \"w{i}@example.org\" ; schema:jobTitle \"Developer\" ;\n  schema:location \"{}\" ; schema:memberOf <{base}coops/{}> ; dir:availability \"{}\" ; dir:hoursPerWeek {} ;\n  dir:hasSkill {} .\n",
        PLACES.choose(rng).unwrap_or(&"Leeds, UK"),
        coop_slug(i % coops.max(1)),
        AVAILABILITY.choose(rng).unwrap_or(&"available"),
        rng.random_range(0..=40),
        qualified.join(",\n    ")
    )
}

const PREFIXES: &str = "@prefix schema: <http://schema.org/> .\n@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n@prefix dir: <https://w3id.org/coopdir#> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n";

/// Writes a dataset (taxonomy included) and returns an estimate of its triple count.
pub fn write_dataset(
    path: &Path,
    base: &str,
    coops: usize,
    workers: usize,
    projects: usize,
) -> std::io::Result<usize> {
    let mut rng = StdRng::seed_from_u64(42);
    let skills = skill_slugs();
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(out, "@base <{base}> .")?;
    out.write_all(TAXONOMY.as_bytes())?;
    out.write_all(PREFIXES.as_bytes())?;
    let mut triples = TAXONOMY.matches(" ;").count()
        + TAXONOMY.matches(" .\n").count()
        + TAXONOMY.matches(", ").count();
    for c in 0..coops {
        writeln!(
            out,
            "<coops/{}> a schema:Organization ; schema:name \"Bench co-op {c}\" ; schema:location \"{}\" ; dir:network \"CoTech\" .",
            coop_slug(c),
            PLACES[c % PLACES.len()]
        )?;
        triples += 4;
    }
    for i in 0..workers {
        let text = worker_turtle(
            &mut rng,
            &skills,
            base,
            &format!("<workers/{}>", worker_slug(i)),
            i,
            coops,
        );
        triples += 9 + text.matches("dir:skill").count() * 4;
        out.write_all(text.as_bytes())?;
    }
    for p in 0..projects {
        let needs: Vec<&&str> = skills.choose_multiple(&mut rng, 3).collect();
        writeln!(
            out,
            "<projects/bench-project-{p}> a schema:Project ; schema:name \"Project {p}\" ; dir:status \"open\" ; schema:sourceOrganization <coops/{}> ;\n  dir:requiresSkill {} ;\n  schema:member <workers/{}> .",
            coop_slug(p % coops.max(1)),
            needs
                .iter()
                .map(|s| format!("<skills/{s}>"))
                .collect::<Vec<_>>()
                .join(", "),
            worker_slug(p % workers.max(1)),
        )?;
        triples += 8;
    }
    out.flush()?;
    Ok(triples)
}

/// Turtle bodies for POSTing workers one by one (relative to the new resource: `<>`).
pub fn worker_bodies(base: &str, count: usize, coops: usize) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(7);
    let skills = skill_slugs();
    (0..count)
        .map(|i| {
            format!(
                "{PREFIXES}{}",
                worker_turtle(&mut rng, &skills, base, "<>", i, coops)
            )
        })
        .collect()
}
