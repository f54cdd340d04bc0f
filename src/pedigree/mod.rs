//! The family as a graph: a petgraph DAG with an edge from each parent to each
//! child, checked for the things that make a family impossible.

use crate::attributes::{AgeGroup, Ancestry, Sex};
use crate::genetics::{CrossoverParams, Inheritance, Region};
use crate::scenario::format::FounderGenes;
use petgraph::algo::toposort;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A validated person.
#[derive(Clone, Debug)]
pub struct Person {
    pub id: String,
    pub name: String,
    pub sex: Sex,
    pub age: AgeGroup,
    /// A founder's own ancestry; empty for children, whose ancestry is derived.
    pub ancestry: Vec<Ancestry>,
    pub father: Option<String>,
    pub mother: Option<String>,
    pub params: CrossoverParams,
    pub overrides: BTreeMap<Region, Inheritance>,
    pub founder_genes: FounderGenes,
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
    pub person: String,
    pub message: String,
    /// Warnings are implausible but legal; errors stop the run.
    pub is_error: bool,
}

impl PedigreeIssue {
    fn error(person: &str, message: String) -> Self {
        PedigreeIssue {
            person: person.to_string(),
            message,
            is_error: true,
        }
    }
    fn warning(person: &str, message: String) -> Self {
        PedigreeIssue {
            person: person.to_string(),
            message,
            is_error: false,
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

impl Pedigree {
    /// Builds and checks the graph. On error returns every issue found (errors
    /// and warnings); on success returns the pedigree and its warnings.
    pub fn new(people: Vec<Person>) -> Result<(Pedigree, Vec<PedigreeIssue>), Vec<PedigreeIssue>> {
        let mut issues = Vec::new();
        let mut graph = DiGraph::new();
        let mut by_id = HashMap::new();
        for p in people {
            let id = p.id.clone();
            if by_id.contains_key(&id) {
                issues.push(PedigreeIssue::error(
                    &id,
                    format!("duplicate person id `{id}`"),
                ));
                continue;
            }
            let node = graph.add_node(p);
            by_id.insert(id, node);
        }

        let nodes: Vec<NodeIndex> = graph.node_indices().collect();
        for &child in &nodes {
            let person = graph[child].clone();
            let parents = [
                (ParentRole::Father, &person.father, Sex::Male),
                (ParentRole::Mother, &person.mother, Sex::Female),
            ];
            if person.father.is_some() != person.mother.is_some() {
                issues.push(PedigreeIssue::error(
                    &person.id,
                    "has only one parent; give both `father` and `mother`, or neither for a founder".into(),
                ));
            }
            if person.is_founder() && person.ancestry.is_empty() {
                issues.push(PedigreeIssue::error(
                    &person.id,
                    "is a founder (no parents) but has no `ancestry`".into(),
                ));
            }
            for (role, parent_id, sex) in parents {
                let Some(parent_id) = parent_id else { continue };
                let Some(&parent) = by_id.get(parent_id) else {
                    issues.push(PedigreeIssue::error(
                        &person.id,
                        format!(
                            "{} `{parent_id}` is not a person in this scenario",
                            role_name(role)
                        ),
                    ));
                    continue;
                };
                let parent_person = &graph[parent];
                if parent_person.sex != sex {
                    issues.push(PedigreeIssue::error(
                        &person.id,
                        format!(
                            "{} `{parent_id}` is {}, but a {} must be {}",
                            role_name(role),
                            parent_person.sex,
                            role_name(role),
                            sex
                        ),
                    ));
                }
                if parent_person.age < person.age {
                    issues.push(PedigreeIssue::error(
                        &person.id,
                        format!(
                            "is in age group {} but {} `{parent_id}` is younger ({})",
                            person.age,
                            role_name(role),
                            parent_person.age
                        ),
                    ));
                } else if !parent_person.age.is_adult() {
                    issues.push(PedigreeIssue::warning(
                        &person.id,
                        format!(
                            "{} `{parent_id}` is only {}",
                            role_name(role),
                            parent_person.age
                        ),
                    ));
                }
                graph.add_edge(parent, child, role);
            }
        }

        let order = match toposort(&graph, None) {
            Ok(order) => order,
            Err(cycle) => {
                let start = cycle.node_id();
                let path = describe_cycle(&graph, start);
                issues.push(PedigreeIssue::error(
                    &graph[start].id,
                    format!("is their own ancestor: {path}"),
                ));
                return Err(issues);
            }
        };
        if issues.iter().any(|i| i.is_error) {
            return Err(issues);
        }

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
        if generations.len() >= 3 {
            for &n in &generations[0] {
                let has_grandchildren = graph.neighbors_directed(n, Direction::Outgoing).any(|c| {
                    graph
                        .neighbors_directed(c, Direction::Outgoing)
                        .next()
                        .is_some()
                });
                if has_grandchildren && graph[n].age <= AgeGroup::Age30To39 {
                    issues.push(PedigreeIssue::warning(
                        &graph[n].id,
                        format!("is a grandparent but only {}", graph[n].age),
                    ));
                }
            }
        }
        Ok((
            Pedigree {
                graph,
                by_id,
                generations,
                ancestries,
            },
            issues,
        ))
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
            .map(|e| petgraph::visit::EdgeRef::source(&e))
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

/// Walks parent links from a node on a cycle until it returns, e.g. "a → b → a".
fn describe_cycle(graph: &DiGraph<Person, ParentRole>, start: NodeIndex) -> String {
    // Depth-first search over parent → child edges for a path back to `start`.
    fn dfs(
        graph: &DiGraph<Person, ParentRole>,
        at: NodeIndex,
        start: NodeIndex,
        path: &mut Vec<NodeIndex>,
    ) -> bool {
        for next in graph.neighbors_directed(at, Direction::Outgoing) {
            if next == start {
                return true;
            }
            if !path.contains(&next) {
                path.push(next);
                if dfs(graph, next, start, path) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    dfs(graph, start, start, &mut path);
    path.push(start);
    path.iter()
        .map(|n| graph[*n].id.as_str())
        .collect::<Vec<_>>()
        .join(" → ")
}
