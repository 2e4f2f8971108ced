//! Pictures drawn on the server as SVG: the network's skills insight, a skill's place in
//! the taxonomy, a project's needs against its proposed team. No chart library: a few
//! bars and lines need none, and the pages stay free of scripts and remote assets.
//! Colours come from classes in `app.css`; every chart has a title, and the page beside
//! it a table with the same numbers for screen readers. Charts whose labels are links
//! are a `group`, not an `img` (an image may not hold links).

use std::fmt::Write;

use crate::i18n::Tr;

/// Escapes text for SVG (XML) content and attribute values.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most this many characters of a label, with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// One skill's demand and supply.
#[derive(Debug, Clone)]
pub struct InsightBar {
    pub label: String,
    pub href: String,
    pub demand: u32,
    pub now: usize,
    pub within_30_days: usize,
    pub supply: usize,
}

const LABEL_WIDTH: f64 = 190.0;
const BAR_AREA: f64 = 380.0;

/// Demand against supply per skill: four bars a row (places wanted, available now,
/// within 30 days, everyone with the skill).
pub fn insight(tr: &Tr, rows: &[InsightBar]) -> String {
    let max = rows
        .iter()
        .map(|r| (r.demand as usize).max(r.supply))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let row_height = 46.0;
    let legend = 28.0;
    let height = legend + row_height * rows.len() as f64 + 8.0;
    let width = LABEL_WIDTH + BAR_AREA + 40.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="group" aria-labelledby="insight-title" xmlns="http://www.w3.org/2000/svg"><title id="insight-title">{}</title>"#,
        esc(&tr.t("insight-chart-title"))
    );
    let series = [
        ("bar-demand", tr.t("insight-demand")),
        ("bar-now", tr.t("insight-now")),
        ("bar-soon", tr.t("insight-soon")),
        ("bar-supply", tr.t("insight-supply")),
    ];
    let mut x = 0.0;
    for (class, name) in &series {
        let _ = write!(
            svg,
            r#"<rect class="{class}" x="{x}" y="4" width="12" height="12"/><text class="legend" x="{}" y="14">{}</text>"#,
            x + 16.0,
            esc(name)
        );
        x += 24.0 + name.chars().count() as f64 * 7.0;
    }
    for (i, row) in rows.iter().enumerate() {
        let top = legend + i as f64 * row_height;
        let _ = write!(
            svg,
            r#"<a href="{}"><text class="label" x="0" y="{}">{}</text></a>"#,
            esc(&row.href),
            top + 24.0,
            esc(&clip(&row.label, 26))
        );
        let values = [row.demand as usize, row.now, row.within_30_days, row.supply];
        for (j, ((class, _), value)) in series.iter().zip(values).enumerate() {
            let y = top + 2.0 + j as f64 * 10.0;
            let w = (value as f64 / max * BAR_AREA).max(if value > 0 { 2.0 } else { 0.0 });
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{LABEL_WIDTH}" y="{y}" width="{w:.1}" height="8"/><text class="value" x="{:.1}" y="{}">{value}</text>"#,
                LABEL_WIDTH + w + 4.0,
                y + 8.0
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// A node of a small taxonomy tree.
#[derive(Debug, Clone)]
pub struct TreeNode {
    pub label: String,
    pub href: String,
}

/// A skill's broader chain from the root down to it, then its narrower skills.
pub fn tree(tr: &Tr, chain: &[TreeNode], current: &TreeNode, narrower: &[TreeNode]) -> String {
    let line = 26.0;
    let indent = 22.0;
    let rows = chain.len() + 1 + narrower.len();
    let depth = chain.len();
    let height = line * rows as f64 + 10.0;
    let width = 80.0 + indent * (depth + 1) as f64 + 260.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart tree" viewBox="0 0 {width} {height}" role="group" aria-labelledby="tree-title" xmlns="http://www.w3.org/2000/svg"><title id="tree-title">{}</title>"#,
        esc(&tr.s("tree-title", &current.label))
    );
    let node = |svg: &mut String, row: usize, level: usize, n: &TreeNode, class: &str| {
        let x = 8.0 + indent * level as f64;
        let y = 8.0 + line * row as f64;
        if level > 0 {
            let px = x - indent + 5.0;
            let _ = write!(
                svg,
                r#"<path class="edge" d="M{px} {} V{} H{}"/>"#,
                y - line + 14.0,
                y + 9.0,
                x
            );
        }
        let _ = write!(
            svg,
            r#"<circle class="{class}" cx="{}" cy="{}" r="5"/><a href="{}"><text class="label" x="{}" y="{}">{}</text></a>"#,
            x + 5.0,
            y + 9.0,
            esc(&n.href),
            x + 16.0,
            y + 14.0,
            esc(&clip(&n.label, 40))
        );
    };
    for (i, n) in chain.iter().enumerate() {
        node(&mut svg, i, i, n, "node");
    }
    node(&mut svg, depth, depth, current, "node-current");
    for (i, n) in narrower.iter().enumerate() {
        // Siblings share the vertical line from the current node.
        let x = 8.0 + indent * (depth + 1) as f64;
        let y = 8.0 + line * (depth + 1 + i) as f64;
        let px = x - indent + 5.0;
        let _ = write!(
            svg,
            r#"<path class="edge" d="M{px} {} V{} H{x}"/>"#,
            y - line + 14.0,
            y + 9.0
        );
        let _ = write!(
            svg,
            r#"<circle class="node" cx="{}" cy="{}" r="5"/><a href="{}"><text class="label" x="{}" y="{}">{}</text></a>"#,
            x + 5.0,
            y + 9.0,
            esc(&n.href),
            x + 16.0,
            y + 14.0,
            esc(&clip(&n.label, 40))
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One required skill: places wanted and how many of the proposed team cover it.
#[derive(Debug, Clone)]
pub struct CoverageBar {
    pub label: String,
    pub wanted: u32,
    pub covered: u32,
}

/// A project's required skills against its proposed team's coverage.
pub fn coverage(tr: &Tr, rows: &[CoverageBar]) -> String {
    let max = rows
        .iter()
        .map(|r| r.wanted.max(r.covered))
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let row_height = 30.0;
    let height = 24.0 + row_height * rows.len() as f64;
    let width = LABEL_WIDTH + BAR_AREA + 60.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="coverage-title" xmlns="http://www.w3.org/2000/svg"><title id="coverage-title">{}</title>"#,
        esc(&tr.t("coverage-chart-title"))
    );
    let wanted_name = tr.t("coverage-wanted");
    let covered_name = tr.t("coverage-covered");
    let x = 40.0 + wanted_name.chars().count() as f64 * 7.0;
    let _ = write!(
        svg,
        r#"<rect class="bar-demand" x="0" y="4" width="12" height="12"/><text class="legend" x="16" y="14">{}</text><rect class="bar-now" x="{x}" y="4" width="12" height="12"/><text class="legend" x="{}" y="14">{}</text>"#,
        esc(&wanted_name),
        x + 16.0,
        esc(&covered_name),
    );
    for (i, row) in rows.iter().enumerate() {
        let top = 24.0 + i as f64 * row_height;
        let _ = write!(
            svg,
            r#"<text class="label" x="0" y="{}">{}</text>"#,
            top + 16.0,
            esc(&clip(&row.label, 26))
        );
        let wanted = row.wanted as f64 / max * BAR_AREA;
        let covered = row.covered.min(row.wanted) as f64 / max * BAR_AREA;
        // A shortfall is also said in words, not only by colour.
        let (value_class, mark) = if row.covered >= row.wanted {
            ("value", "")
        } else {
            ("value value-short", " !")
        };
        let _ = write!(
            svg,
            r#"<rect class="bar-demand" x="{LABEL_WIDTH}" y="{}" width="{wanted:.1}" height="18"/><rect class="bar-now" x="{LABEL_WIDTH}" y="{}" width="{covered:.1}" height="18"/><text class="{value_class}" x="{:.1}" y="{}">{}/{}{mark}</text>"#,
            top + 3.0,
            top + 3.0,
            LABEL_WIDTH + wanted.max(covered) + 6.0,
            top + 16.0,
            row.covered.min(row.wanted),
            row.wanted
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;

    #[test]
    fn labels_are_escaped_and_bars_scale_to_the_largest_value() {
        let tr = Tr::new(Lang::En);
        let svg = insight(
            &tr,
            &[
                InsightBar {
                    label: "C & <C++>".into(),
                    href: "/skills/c".into(),
                    demand: 4,
                    now: 1,
                    within_30_days: 2,
                    supply: 8,
                },
                InsightBar {
                    label: "Rust".into(),
                    href: "/skills/rust".into(),
                    demand: 2,
                    now: 0,
                    within_30_days: 0,
                    supply: 0,
                },
            ],
        );
        assert!(svg.contains("C &amp; &lt;C++&gt;"));
        assert!(!svg.contains("<C++>"));
        // The supply of 8 is the widest bar, the full area; a demand of 4 half of it.
        assert!(svg.contains(&format!("width=\"{BAR_AREA:.1}\"")));
        assert!(svg.contains(&format!("width=\"{:.1}\"", BAR_AREA / 2.0)));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }

    #[test]
    fn coverage_marks_a_shortfall() {
        let tr = Tr::new(Lang::En);
        let svg = coverage(
            &tr,
            &[
                CoverageBar {
                    label: "Rust".into(),
                    wanted: 3,
                    covered: 1,
                },
                CoverageBar {
                    label: "Django".into(),
                    wanted: 1,
                    covered: 1,
                },
            ],
        );
        assert!(svg.contains(">1/3 !<") && svg.contains(">1/1<"));
        // Covered: one of the three wanted, a third of the widest bar.
        assert!(svg.contains(&format!("width=\"{:.1}\"", BAR_AREA / 3.0)));
    }
}
