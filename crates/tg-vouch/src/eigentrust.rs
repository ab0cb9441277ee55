//! EigenTrust over the vouch graph (Kamvar, Schlosser, Garcia-Molina 2003), with the
//! pre-trusted agents as the teleport distribution and dangling mass returned to them.

/// How the iteration runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// The share of trust returned to the pre-trusted agents at every step (EigenTrust's
    /// `a`). Larger converges faster and lets trust travel fewer hops.
    pub pretrust_weight: f64,
    /// Stop when the L1 change of one step falls below this (the vector sums to 1).
    pub tolerance: f64,
    pub max_iterations: u32,
}

impl Default for Params {
    fn default() -> Self {
        Self {
            pretrust_weight: 0.15,
            tolerance: 1e-7,
            max_iterations: 1000,
        }
    }
}

/// A vouch between two agents, by index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    pub from: u32,
    pub to: u32,
    /// In (0, 1].
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GraphError {
    #[error("edge {0} names an agent index beyond the graph")]
    Index(usize),
    #[error("edge {0} has a weight outside (0, 1]")]
    Weight(usize),
    #[error("more than u32::MAX agents or vouches")]
    TooLarge,
}

/// The normalised local-trust matrix in compressed rows: row `i` holds the share of its
/// vouching budget voucher `i` gives each of its vouchees.
#[derive(Debug, Clone)]
pub struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    shares: Vec<f64>,
    /// Σ of row `i`'s shares (≤ 1).
    budget_used: Vec<f64>,
}

impl Graph {
    /// Builds the matrix. Each voucher has a budget of 1: a vouch of weight `w` gets the
    /// share `w / max(1, Σ weights of the voucher)`. Self-vouches are ignored.
    /// O(agents + vouches), no sorting.
    pub fn build(agents: usize, edges: &[Edge]) -> Result<Self, GraphError> {
        if u32::try_from(agents).is_err() || u32::try_from(edges.len()).is_err() {
            return Err(GraphError::TooLarge);
        }
        let mut budget = vec![0.0_f64; agents];
        let mut counts = vec![0_u32; agents + 1];
        for (n, e) in edges.iter().enumerate() {
            let (from, to) = (e.from as usize, e.to as usize);
            if from >= agents || to >= agents {
                return Err(GraphError::Index(n));
            }
            if !(e.weight > 0.0 && e.weight <= 1.0) {
                return Err(GraphError::Weight(n));
            }
            if from != to {
                if let Some(b) = budget.get_mut(from) {
                    *b += e.weight;
                }
                if let Some(c) = counts.get_mut(from + 1) {
                    *c += 1;
                }
            }
        }
        for i in 1..counts.len() {
            let prev = counts.get(i - 1).copied().unwrap_or(0);
            if let Some(c) = counts.get_mut(i) {
                *c += prev;
            }
        }
        let total = counts.last().copied().unwrap_or(0) as usize;
        let mut fill = counts.clone();
        let mut targets = vec![0_u32; total];
        let mut shares = vec![0.0_f64; total];
        let mut used = vec![0.0_f64; agents];
        for e in edges.iter().filter(|e| e.from != e.to) {
            let from = e.from as usize;
            let share = e.weight / budget.get(from).copied().unwrap_or(1.0).max(1.0);
            let Some(slot) = fill.get_mut(from) else {
                continue;
            };
            let at = *slot as usize;
            *slot += 1;
            if let (Some(t), Some(s)) = (targets.get_mut(at), shares.get_mut(at)) {
                *t = e.to;
                *s = share;
            }
            if let Some(p) = used.get_mut(from) {
                *p += share;
            }
        }
        for p in &mut used {
            *p = p.min(1.0);
        }
        Ok(Self {
            offsets: counts,
            targets,
            shares,
            budget_used: used,
        })
    }

    pub fn agents(&self) -> usize {
        self.budget_used.len()
    }

    pub fn vouches(&self) -> usize {
        self.targets.len()
    }

    fn row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let start = self.offsets.get(i).copied().unwrap_or(0) as usize;
        let end = self.offsets.get(i + 1).copied().unwrap_or(0) as usize;
        let targets = self.targets.get(start..end).unwrap_or_default();
        let shares = self.shares.get(start..end).unwrap_or_default();
        targets.iter().zip(shares).map(|(&t, &s)| (t as usize, s))
    }
}

/// The converged trust vector (sums to 1 when anyone is pre-trusted, else all zero).
#[derive(Debug, Clone, PartialEq)]
pub struct Solution {
    pub trust: Vec<f64>,
    pub iterations: u32,
    /// The L1 change of the last step.
    pub residual: f64,
}

/// Power iteration from `previous` (when it fits the graph) or from the pre-trusted
/// distribution. Voucher `i` passes on `credibility[i]` (in [0, 1]; missing entries count
/// as 0) of what its shares say; whatever is not passed on returns to the pre-trusted.
/// Pre-trusted indexes beyond the graph are ignored.
pub fn eigentrust(
    graph: &Graph,
    credibility: &[f64],
    pretrusted: &[u32],
    previous: Option<&[f64]>,
    params: &Params,
) -> Solution {
    let n = graph.agents();
    let seeds = seeds(n, pretrusted);
    if seeds.is_empty() {
        return Solution {
            trust: vec![0.0; n],
            iterations: 0,
            residual: 0.0,
        };
    }
    let seed_mass = 1.0 / seeds.len() as f64;
    let a = params.pretrust_weight.clamp(0.0, 1.0);
    let mut current = match previous.and_then(|p| normalised(p, n)) {
        Some(v) => v,
        None => {
            let mut v = vec![0.0; n];
            for &s in &seeds {
                if let Some(x) = v.get_mut(s) {
                    *x = seed_mass;
                }
            }
            v
        }
    };
    let mut next = vec![0.0; n];
    let mut iterations = 0;
    let mut residual = f64::INFINITY;
    while iterations < params.max_iterations && residual >= params.tolerance {
        next.fill(0.0);
        let mut returned = 0.0;
        for (i, &t) in current.iter().enumerate() {
            if t == 0.0 {
                continue;
            }
            let cred = unit(credibility.get(i).copied().unwrap_or(0.0));
            let flowing = (1.0 - a) * t * cred;
            let used = graph.budget_used.get(i).copied().unwrap_or(0.0);
            // Teleport share, plus whatever this voucher does not pass on.
            returned += t - flowing * used;
            for (j, share) in graph.row(i) {
                if let Some(x) = next.get_mut(j) {
                    *x += flowing * share;
                }
            }
        }
        for &s in &seeds {
            if let Some(x) = next.get_mut(s) {
                *x += returned * seed_mass;
            }
        }
        residual = current.iter().zip(&next).map(|(c, n)| (c - n).abs()).sum();
        std::mem::swap(&mut current, &mut next);
        iterations += 1;
    }
    Solution {
        trust: current,
        iterations,
        residual,
    }
}

/// How many orders of magnitude of dilution the log scale spans.
pub const DECADES: f64 = 3.0;

/// Maps trust onto vouch factors in [0, 1]. The reference is what one full vouch of an
/// average pre-trusted agent confers, `(1 − a) × mean trust of the pre-trusted`; an agent
/// holding that much scores 1, a tenth of it 2/3, a hundredth 1/3, a thousandth or less 0.
/// Pre-trusted agents score 1; without pre-trusted agents everyone scores 0.
pub fn vouch_factors(trust: &[f64], pretrusted: &[u32], params: &Params) -> Vec<f64> {
    let seeds = seeds(trust.len(), pretrusted);
    let mut factors = vec![0.0; trust.len()];
    if seeds.is_empty() {
        return factors;
    }
    let mean = seeds
        .iter()
        .map(|&s| trust.get(s).copied().unwrap_or(0.0))
        .sum::<f64>()
        / seeds.len() as f64;
    let reference = (1.0 - params.pretrust_weight.clamp(0.0, 1.0)) * mean;
    for (f, &t) in factors.iter_mut().zip(trust) {
        if t > 0.0 && reference > 0.0 {
            *f = unit(1.0 + (t / reference).log10() / DECADES);
        }
    }
    for s in seeds {
        if let Some(f) = factors.get_mut(s) {
            *f = 1.0;
        }
    }
    factors
}

/// A voucher's influence: its own composite score (so vouches weaken as its trust decays)
/// divided by one plus the violations committed by agents while it vouched for them.
pub fn credibility(composite: f64, vouchee_violations: u64) -> f64 {
    unit(composite) / (1.0 + vouchee_violations as f64)
}

fn seeds(n: usize, pretrusted: &[u32]) -> Vec<usize> {
    let mut seen = vec![false; n];
    let mut out = Vec::new();
    for &p in pretrusted {
        let p = p as usize;
        if let Some(s) = seen.get_mut(p)
            && !*s
        {
            *s = true;
            out.push(p);
        }
    }
    out
}

fn normalised(previous: &[f64], n: usize) -> Option<Vec<f64>> {
    if previous.len() != n || previous.iter().any(|x| !x.is_finite() || *x < 0.0) {
        return None;
    }
    let sum: f64 = previous.iter().sum();
    (sum > 0.0).then(|| previous.iter().map(|x| x / sum).collect())
}

fn unit(x: f64) -> f64 {
    if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(from: u32, to: u32, weight: f64) -> Edge {
        Edge { from, to, weight }
    }

    fn solve(n: usize, edges: &[Edge], cred: &[f64], pre: &[u32]) -> (Solution, Vec<f64>) {
        let g = Graph::build(n, edges).unwrap();
        let p = Params::default();
        let s = eigentrust(&g, cred, pre, None, &p);
        let f = vouch_factors(&s.trust, pre, &p);
        (s, f)
    }

    #[test]
    fn a_full_vouch_from_the_only_anchor_scores_one_and_mass_is_conserved() {
        let (s, f) = solve(3, &[edge(0, 1, 1.0)], &[1.0; 3], &[0]);
        assert!((s.trust.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!((f[1] - 1.0).abs() < 1e-6, "{f:?}");
        assert_eq!(f[0], 1.0);
        assert_eq!(f[2], 0.0);
    }

    #[test]
    fn vouching_for_ten_shares_the_budget_a_tenth_scores_two_thirds() {
        let edges: Vec<Edge> = (1..=10).map(|j| edge(0, j, 1.0)).collect();
        let (_, f) = solve(11, &edges, &[1.0; 11], &[0]);
        assert!(f[1..].iter().all(|x| (x - 2.0 / 3.0).abs() < 1e-6), "{f:?}");
    }

    #[test]
    fn a_ring_without_a_path_from_the_pre_trusted_holds_exactly_nothing() {
        let mut edges = vec![edge(0, 1, 1.0)];
        for i in 2..12_u32 {
            for j in 2..12_u32 {
                edges.push(edge(i, j, 1.0));
            }
        }
        let (s, f) = solve(12, &edges, &[1.0; 12], &[0]);
        assert!(s.trust[2..].iter().all(|t| *t == 0.0));
        assert!(f[2..].iter().all(|x| *x == 0.0));
        assert!(f[1] > 0.99);
    }

    #[test]
    fn trust_weakens_with_each_hop_and_with_the_vouchers_credibility() {
        // 0 → 1 → 2 → 3, credibility 1, 0.5, 1.
        let edges = [edge(0, 1, 1.0), edge(1, 2, 1.0), edge(2, 3, 1.0)];
        let (_, f) = solve(4, &edges, &[1.0, 0.5, 1.0, 1.0], &[0]);
        assert!(f[1] > f[2] && f[2] > f[3] && f[3] > 0.0, "{f:?}");
        let (_, full) = solve(4, &edges, &[1.0; 4], &[0]);
        assert!(full[2] > f[2], "a less credible voucher passes less");
        // A voucher with no credibility passes nothing.
        let (s, _) = solve(
            3,
            &[edge(0, 1, 1.0), edge(1, 2, 1.0)],
            &[1.0, 0.0, 1.0],
            &[0],
        );
        assert_eq!(s.trust[2], 0.0);
    }

    #[test]
    fn violations_of_vouchees_cut_the_vouchers_credibility() {
        assert_eq!(credibility(0.8, 0), 0.8);
        assert_eq!(credibility(0.8, 1), 0.4);
        assert_eq!(credibility(0.8, 3), 0.2);
        assert_eq!(credibility(f64::NAN, 0), 0.0);
        assert_eq!(credibility(2.0, 0), 1.0);
    }

    #[test]
    fn without_pre_trusted_agents_nobody_gets_vouch_credit() {
        let (s, f) = solve(3, &[edge(0, 1, 1.0), edge(1, 2, 1.0)], &[1.0; 3], &[]);
        assert_eq!(s.iterations, 0);
        assert!(f.iter().all(|x| *x == 0.0));
    }

    #[test]
    fn a_warm_start_converges_to_the_same_vector_in_fewer_steps() {
        let mut edges = Vec::new();
        for i in 0..200_u32 {
            for k in 1..6_u32 {
                edges.push(edge(i, (i * 7 + k * 13) % 200, 0.2 * f64::from(k)));
            }
        }
        let cred = vec![0.9; 200];
        let pre = [0, 1, 2];
        let p = Params::default();
        let g = Graph::build(200, &edges).unwrap();
        let cold = eigentrust(&g, &cred, &pre, None, &p);
        edges.push(edge(3, 150, 1.0));
        let g2 = Graph::build(200, &edges).unwrap();
        let warm = eigentrust(&g2, &cred, &pre, Some(&cold.trust), &p);
        let reference = eigentrust(&g2, &cred, &pre, None, &p);
        assert!(
            warm.iterations < reference.iterations,
            "{} vs {}",
            warm.iterations,
            reference.iterations
        );
        let diff: f64 = warm
            .trust
            .iter()
            .zip(&reference.trust)
            .map(|(a, b)| (a - b).abs())
            .sum();
        assert!(diff < 1e-5, "{diff}");
    }

    #[test]
    fn malformed_input_is_refused() {
        let err = |edges: &[Edge]| Graph::build(2, edges).unwrap_err();
        assert_eq!(err(&[edge(0, 2, 1.0)]), GraphError::Index(0));
        assert_eq!(err(&[edge(0, 1, 0.0)]), GraphError::Weight(0));
        assert_eq!(err(&[edge(0, 1, f64::NAN)]), GraphError::Weight(0));
        // A previous vector of the wrong shape is ignored, not trusted; a short credibility
        // vector counts the missing vouchers as passing nothing.
        let g = Graph::build(2, &[edge(0, 1, 1.0)]).unwrap();
        let s = eigentrust(&g, &[], &[0], Some(&[f64::NAN, 1.0]), &Params::default());
        assert!((s.trust.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(s.trust[1], 0.0);
    }
}
