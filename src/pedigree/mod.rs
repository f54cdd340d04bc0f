//! The family as a graph: a petgraph DAG with an edge from each parent to each
//! child, checked for the things that make a family impossible.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::{CrossoverParams, Inheritance, Region};
use crate::suggest::closest;
use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

mod founder;
pub use founder::FounderGenes;

/// A validated person.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub name: String,
    /// The family name as written in the scenario, if it was; exports
    /// derive one from `name` otherwise.
    pub surname: Option<String>,
    pub sex: Sex,
    pub age: AgeGroup,
    /// A founder's own ancestry; empty for children, whose ancestry is derived.
    pub ancestry: Vec<Ancestry>,
    pub father: Option<String>,
    pub mother: Option<String>,
    pub params: CrossoverParams,
    pub overrides: BTreeMap<Region, Inheritance>,
    pub founder_genes: FounderGenes,
    /// This person's own random-stream seed in place of the run's (a
    /// "re-roll" of this person alone); None uses the run's seed.
    pub seed: Option<u64>,
}

impl Person {
    pub fn is_founder(&self) -> bool {
        self.father.is_none() && self.mother.is_none()
    }
}

/// Which parent an edge leads from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ParentRole {
    Father,
    Mother,
}

/// Something wrong (or odd) about one person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PedigreeIssue {
    /// The id of the person it is about.
    pub person: String,
    /// A clause that reads after "person "id": ", e.g.
    /// `mother "bob" is male, but a mother must be female`.
    pub message: String,
    /// Warnings are implausible but legal; errors stop the run.
    pub is_error: bool,
    /// Position of the person in the list given to [`Pedigree::new`] (ids can
    /// be duplicated, positions cannot).
    pub entry: usize,
    /// The field of that person the issue is about (`"father"`, `"age"`, …),
    /// or `None` for the person as a whole.
    pub field: Option<&'static str>,
}

impl PedigreeIssue {
    fn error(entry: usize, person: &str, field: Option<&'static str>, message: String) -> Self {
        PedigreeIssue {
            person: person.to_string(),
            message,
            is_error: true,
            entry,
            field,
        }
    }
    fn warning(entry: usize, person: &str, field: Option<&'static str>, message: String) -> Self {
        PedigreeIssue {
            is_error: false,
            ..PedigreeIssue::error(entry, person, field, message)
        }
    }
}

/// A checked family tree.
#[derive(Clone, Debug)]
pub struct Pedigree {
    graph: DiGraph<Person, ParentRole>,
    by_id: HashMap<String, NodeIndex>,
    /// People by generation (founders 0, a child one below its deeper parent),
    /// each generation in input order.
    generations: Vec<Vec<NodeIndex>>,
    /// Ancestries per person, founders' own and children's inherited (sorted, unique).
    ancestries: Vec<Vec<Ancestry>>,
}

/// The youngest age group that can be a parent at all; younger is an error,
/// this one a warning.
const YOUNGEST_PARENT: AgeGroup = AgeGroup::Age10To19;

/// Grandparents this young or younger get a warning.
const YOUNG_GRANDPARENT: AgeGroup = AgeGroup::Age30To39;

impl Pedigree {
    /// Builds and checks the graph. On error returns every issue found (errors
    /// and warnings); on success returns the pedigree and its warnings.
    ///
    /// Errors: duplicate ids, one parent only, a founder without ancestry,
    /// unknown parents, a father who is not male or a mother who is not female,
    /// a child older than a parent, a parent younger than 10, and anyone who is
    /// their own ancestor. Warnings: parents aged 10-19, a parent in the child's
    /// own age group, grandparents aged 39 or less, parents who are close kin.
    pub fn new(people: Vec<Person>) -> Result<(Pedigree, Vec<PedigreeIssue>), Vec<PedigreeIssue>> {
        let mut issues = Vec::new();
        let mut graph = DiGraph::new();
        let mut by_id = HashMap::new();
        // Input position of each node (duplicates are left out of the graph).
        let mut entry_of = Vec::new();
        for (entry, p) in people.into_iter().enumerate() {
            let id = p.id.clone();
            if by_id.contains_key(&id) {
                issues.push(PedigreeIssue::error(
                    entry,
                    &id,
                    Some("id"),
                    format!(
                        "the id {id:?} is already used by an earlier person; ids must be unique"
                    ),
                ));
                continue;
            }
            let node = graph.add_node(p);
            by_id.insert(id, node);
            entry_of.push(entry);
        }

        let nodes: Vec<NodeIndex> = graph.node_indices().collect();
        for &child in &nodes {
            let entry = entry_of[child.index()];
            let person = graph[child].clone();
            let id = person.id.as_str();
            match (&person.father, &person.mother) {
                (Some(_), None) => issues.push(PedigreeIssue::error(
                    entry,
                    id,
                    Some("father"),
                    "has a `father` but no `mother`; give both, or neither for a founder".into(),
                )),
                (None, Some(_)) => issues.push(PedigreeIssue::error(
                    entry,
                    id,
                    Some("mother"),
                    "has a `mother` but no `father`; give both, or neither for a founder".into(),
                )),
                (None, None) if person.ancestry.is_empty() => {
                    issues.push(PedigreeIssue::error(
                        entry,
                        id,
                        None,
                        format!(
                            "is a founder (no `father` or `mother`) but has no `ancestry`; \
                             founders need one of {}",
                            Ancestry::ALL.map(|a| format!("{a:?}")).join(", ")
                        ),
                    ));
                }
                _ => {}
            }
            let parents = [
                (ParentRole::Father, &person.father, Sex::Male),
                (ParentRole::Mother, &person.mother, Sex::Female),
            ];
            for (role, parent_id, sex) in parents {
                let Some(parent_id) = parent_id else { continue };
                let name = role_name(role);
                let Some(&parent) = by_id.get(parent_id) else {
                    let mut message =
                        format!("{name} {parent_id:?} is not a person in this scenario");
                    let ids = by_id.keys().map(String::as_str).filter(|k| *k != id);
                    if let Some(near) = closest(parent_id, ids) {
                        message.push_str(&format!("; did you mean {near:?}?"));
                    }
                    issues.push(PedigreeIssue::error(entry, id, Some(name), message));
                    continue;
                };
                let parent_person = &graph[parent];
                if parent_person.sex != sex {
                    issues.push(PedigreeIssue::error(
                        entry,
                        id,
                        Some(name),
                        format!(
                            "{name} {parent_id:?} is {}, but a {name} must be {sex}",
                            parent_person.sex
                        ),
                    ));
                }
                if parent_person.age < person.age {
                    issues.push(PedigreeIssue::error(
                        entry,
                        id,
                        Some("age"),
                        format!(
                            "is {}, older than their {name} {parent_id:?} ({}); \
                             a child must not be in an older age group than a parent",
                            person.age, parent_person.age
                        ),
                    ));
                } else if parent_person.age < YOUNGEST_PARENT {
                    issues.push(PedigreeIssue::error(
                        entry,
                        id,
                        Some(name),
                        format!(
                            "{name} {parent_id:?} is {}, too young to be a parent \
                             (parents must be {YOUNGEST_PARENT} or older)",
                            parent_person.age
                        ),
                    ));
                } else if parent_person.age == person.age {
                    issues.push(PedigreeIssue::warning(
                        entry,
                        id,
                        Some("age"),
                        format!(
                            "is in the same age group ({}) as their {name} {parent_id:?}",
                            person.age
                        ),
                    ));
                } else if !parent_person.age.is_adult() {
                    issues.push(PedigreeIssue::warning(
                        entry,
                        id,
                        Some(name),
                        format!("{name} {parent_id:?} is only {}", parent_person.age),
                    ));
                }
                graph.add_edge(parent, child, role);
            }
        }

        // Every cycle, not just the first one a topological sort trips on.
        let mut cycles: Vec<Vec<NodeIndex>> = tarjan_scc(&graph)
            .into_iter()
            .filter(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
            .collect();
        cycles.sort_by_key(|scc| scc.iter().map(|n| entry_of[n.index()]).min());
        for scc in &cycles {
            let start = *scc
                .iter()
                .min_by_key(|n| entry_of[n.index()])
                .expect("a strongly connected component is never empty");
            let path = describe_cycle(&graph, start, scc);
            // Point at the parent link that closes the loop into `start`.
            let field = graph
                .edges_directed(start, Direction::Incoming)
                .find(|e| scc.contains(&e.source()))
                .map(|e| role_name(*e.weight()));
            issues.push(PedigreeIssue::error(
                entry_of[start.index()],
                &graph[start].id,
                field,
                format!("is their own ancestor: {path} (each arrow points from a parent to their child)"),
            ));
        }
        if issues.iter().any(|i| i.is_error) {
            return Err(issues);
        }
        let order = toposort(&graph, None)
            .expect("a graph without strongly connected components is acyclic");

        let mut depth = vec![0usize; graph.node_count()];
        let mut ancestries = vec![Vec::new(); graph.node_count()];
        for &n in &order {
            let parents: Vec<NodeIndex> =
                graph.neighbors_directed(n, Direction::Incoming).collect();
            depth[n.index()] = parents
                .iter()
                .map(|p| depth[p.index()] + 1)
                .max()
                .unwrap_or(0);
            let mut anc: Vec<Ancestry> = if parents.is_empty() {
                graph[n].ancestry.clone()
            } else {
                parents
                    .iter()
                    .flat_map(|p| ancestries[p.index()].clone())
                    .collect()
            };
            anc.sort();
            anc.dedup();
            ancestries[n.index()] = anc;
        }
        let mut generations: Vec<Vec<NodeIndex>> = Vec::new();
        for n in graph.node_indices() {
            let d = depth[n.index()];
            if generations.len() <= d {
                generations.resize(d + 1, Vec::new());
            }
            generations[d].push(n);
        }
        for n in graph.node_indices() {
            let has_grandchildren = graph.neighbors_directed(n, Direction::Outgoing).any(|c| {
                graph
                    .neighbors_directed(c, Direction::Outgoing)
                    .next()
                    .is_some()
            });
            if has_grandchildren && graph[n].age <= YOUNG_GRANDPARENT {
                issues.push(PedigreeIssue::warning(
                    entry_of[n.index()],
                    &graph[n].id,
                    Some("age"),
                    format!("is a grandparent but only {}", graph[n].age),
                ));
            }
        }
        let pedigree = Pedigree {
            graph,
            by_id,
            generations,
            ancestries,
        };
        issues.extend(pedigree.close_kin_couples(&entry_of));
        Ok((pedigree, issues))
    }

    /// Couples who are siblings, half-siblings, or parent and child: legal,
    /// but rarely what a scenario means. Reported once per couple, on their
    /// first child.
    fn close_kin_couples(&self, entry_of: &[usize]) -> Vec<PedigreeIssue> {
        let mut issues = Vec::new();
        let mut seen = Vec::new();
        for n in self.graph.node_indices() {
            let (Some(f), Some(m)) = (self.father(n), self.mother(n)) else {
                continue;
            };
            if seen.contains(&(f, m)) {
                continue;
            }
            seen.push((f, m));
            let parents_of = |x: NodeIndex| [self.father(x), self.mother(x)];
            let shared = parents_of(f)
                .into_iter()
                .flatten()
                .any(|p| parents_of(m).contains(&Some(p)));
            let direct = parents_of(f).contains(&Some(m)) || parents_of(m).contains(&Some(f));
            let relation = if direct {
                "parent and child"
            } else if shared {
                "siblings or half-siblings"
            } else {
                continue;
            };
            issues.push(PedigreeIssue::warning(
                entry_of[n.index()],
                &self.graph[n].id,
                None,
                format!(
                    "their parents {:?} and {:?} are {relation}",
                    self.graph[f].id, self.graph[m].id
                ),
            ));
        }
        issues
    }

    pub fn len(&self) -> usize {
        self.graph.node_count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// People grouped by generation, founders first.
    pub fn generations(&self) -> &[Vec<NodeIndex>] {
        &self.generations
    }

    pub fn person(&self, n: NodeIndex) -> &Person {
        &self.graph[n]
    }

    pub fn node(&self, id: &str) -> Option<NodeIndex> {
        self.by_id.get(id).copied()
    }

    /// Every person, in input order.
    pub fn people(&self) -> impl Iterator<Item = (NodeIndex, &Person)> {
        self.graph.node_indices().map(move |n| (n, &self.graph[n]))
    }

    /// The ancestries a person descends from (a founder's own; a child's parents' union).
    pub fn ancestry(&self, n: NodeIndex) -> &[Ancestry] {
        &self.ancestries[n.index()]
    }

    pub fn generation_of(&self, n: NodeIndex) -> usize {
        self.generations
            .iter()
            .position(|g| g.contains(&n))
            .unwrap_or(0)
    }

    pub fn parent(&self, n: NodeIndex, role: ParentRole) -> Option<NodeIndex> {
        self.graph
            .edges_directed(n, Direction::Incoming)
            .find(|e| *e.weight() == role)
            .map(|e| e.source())
    }

    pub fn father(&self, n: NodeIndex) -> Option<NodeIndex> {
        self.parent(n, ParentRole::Father)
    }

    pub fn mother(&self, n: NodeIndex) -> Option<NodeIndex> {
        self.parent(n, ParentRole::Mother)
    }

    /// Children in input order.
    pub fn children(&self, n: NodeIndex) -> Vec<NodeIndex> {
        let mut c: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(n, Direction::Outgoing)
            .collect();
        c.sort();
        c.dedup();
        c
    }

    /// Distinct (father, mother) pairs that have children, in first-child order.
    pub fn couples(&self) -> Vec<(NodeIndex, NodeIndex)> {
        let mut seen = Vec::new();
        for n in self.graph.node_indices() {
            if let (Some(f), Some(m)) = (self.father(n), self.mother(n)) {
                if !seen.contains(&(f, m)) {
                    seen.push((f, m));
                }
            }
        }
        seen
    }

    /// The underlying graph (edges point from parent to child).
    pub fn graph(&self) -> &DiGraph<Person, ParentRole> {
        &self.graph
    }
}

fn role_name(role: ParentRole) -> &'static str {
    match role {
        ParentRole::Father => "father",
        ParentRole::Mother => "mother",
    }
}

/// A path from `start` along parent → child edges inside one cycle back to
/// `start`, e.g. "a → b → a".
fn describe_cycle(
    graph: &DiGraph<Person, ParentRole>,
    start: NodeIndex,
    cycle: &[NodeIndex],
) -> String {
    // Breadth-first search inside the cycle's members for the shortest loop.
    let mut came_from: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut last = None;
    'search: while let Some(at) = queue.pop_front() {
        for next in graph.neighbors_directed(at, Direction::Outgoing) {
            if next == start {
                last = Some(at);
                break 'search;
            }
            if cycle.contains(&next) && !came_from.contains_key(&next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    let mut path = vec![start];
    let mut at = last;
    while let Some(n) = at.filter(|&n| n != start) {
        path.push(n);
        at = came_from.get(&n).copied();
    }
    path[1..].reverse();
    path.push(start);
    path.iter()
        .map(|n| format!("{:?}", graph[*n].id))
        .collect::<Vec<_>>()
        .join(" → ")
}

/// A person for unit tests elsewhere in the crate: a founder (40–49,
/// Indian) without `parents`, a child (10–19, ancestry from the parents)
/// with them; nothing else set.
#[cfg(test)]
pub(crate) fn test_person(id: &str, sex: Sex, parents: Option<(&str, &str)>) -> Person {
    Person {
        id: id.into(),
        name: id.into(),
        surname: None,
        sex,
        age: if parents.is_some() {
            AgeGroup::Age10To19
        } else {
            AgeGroup::Age40To49
        },
        ancestry: if parents.is_some() {
            Vec::new()
        } else {
            vec![Ancestry::Indian]
        },
        father: parents.map(|p| p.0.to_string()),
        mother: parents.map(|p| p.1.to_string()),
        params: Default::default(),
        overrides: Default::default(),
        founder_genes: Default::default(),
        seed: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: &str, sex: Sex, age: AgeGroup, parents: Option<(&str, &str)>) -> Person {
        Person {
            id: id.into(),
            name: id.into(),
            surname: None,
            sex,
            age,
            ancestry: if parents.is_none() {
                vec![Ancestry::White]
            } else {
                Vec::new()
            },
            father: parents.map(|p| p.0.to_string()),
            mother: parents.map(|p| p.1.to_string()),
            params: CrossoverParams {
                gamma: 0.47,
                eta: 0.4,
                lean: 0.0,
            },
            overrides: BTreeMap::new(),
            founder_genes: FounderGenes::Pool,
            seed: None,
        }
    }

    use AgeGroup::*;
    use Sex::*;

    #[test]
    fn reports_every_cycle_at_its_first_listed_member() {
        let people = vec![
            person("m", Female, Age70Plus, None),
            person("a", Male, Age40To49, Some(("b", "m"))),
            person("b", Male, Age40To49, Some(("a", "m"))),
            person("c", Male, Age40To49, Some(("c", "m"))),
        ];
        let issues = Pedigree::new(people).unwrap_err();
        let errors: Vec<&PedigreeIssue> = issues.iter().filter(|i| i.is_error).collect();
        assert_eq!(errors.len(), 2, "{issues:?}");
        assert_eq!(errors[0].person, "a");
        assert_eq!(errors[0].entry, 1);
        assert_eq!(errors[0].field, Some("father"));
        assert!(
            errors[0].message.contains("\"a\" → \"b\" → \"a\""),
            "{}",
            errors[0].message
        );
        assert_eq!(errors[1].person, "c");
        assert!(
            errors[1].message.contains("\"c\" → \"c\""),
            "{}",
            errors[1].message
        );
    }

    #[test]
    fn duplicates_point_at_the_later_entry() {
        let people = vec![
            person("x", Male, Age30To39, None),
            person("y", Female, Age30To39, None),
            person("x", Male, Age20To29, None),
        ];
        let issues = Pedigree::new(people).unwrap_err();
        assert_eq!(issues.len(), 1);
        assert_eq!((issues[0].entry, issues[0].field), (2, Some("id")));
    }

    #[test]
    fn close_kin_couples_and_young_grandparents_are_warnings() {
        let people = vec![
            person("gpa", Male, Age30To39, None),
            person("gma", Female, Age50To59, None),
            person("bro", Male, Age10To19, Some(("gpa", "gma"))),
            person("sis", Female, Age10To19, Some(("gpa", "gma"))),
            person("kid", Female, Age0To2, Some(("bro", "sis"))),
        ];
        let (pedigree, warnings) = Pedigree::new(people).unwrap();
        assert_eq!(pedigree.generations().len(), 3);
        let text: Vec<String> = warnings
            .iter()
            .map(|w| format!("{}: {}", w.person, w.message))
            .collect();
        assert!(
            text.contains(&"gpa: is a grandparent but only 30-39".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(
                &"kid: their parents \"bro\" and \"sis\" are siblings or half-siblings".to_string()
            ),
            "{text:?}"
        );
        assert!(
            text.contains(&"kid: father \"bro\" is only 10-19".to_string()),
            "{text:?}"
        );
        assert!(warnings.iter().all(|w| !w.is_error));
    }
}
