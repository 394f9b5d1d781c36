//! The HorizontalPodAutoscaler (autoscaling/v2) as the controller runs it, following
//! "Horizontal Pod Autoscaling", https://kubernetes.io/docs/concepts/workloads/autoscaling/horizontal-pod-autoscale/
//! (read 2026-12-07): the replica formula, the tolerance, not-ready pods counted at 0 % when scaling
//! up, the stabilisation windows, and the `behavior` policies (default and declared).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

/// What an HPA manifest declares, with the documented defaults for what it leaves out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HpaSpec {
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Target average CPU utilisation, as a share of the pods' CPU request (0.7 = 70 %).
    pub target_utilization: f64,
    pub scale_up: Rules,
    pub scale_down: Rules,
}

/// One direction's `behavior`: stabilisation window, policies and how one is selected.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Rules {
    pub stabilization_s: u64,
    pub policies: Vec<Policy>,
    pub select: Select,
}

/// `Pods` (a number of pods) or `Percent` (of the replicas at the period's start) per period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Policy {
    pub percent: bool,
    pub value: u32,
    pub period_s: u64,
}

/// `selectPolicy`: the policy allowing the most change (`Max`), the least (`Min`), or none.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Select {
    Max,
    Min,
    Disabled,
}

impl Rules {
    /// The documented default for scaling up: no stabilisation; double, or add 4 pods, per 15 s.
    pub fn default_up() -> Rules {
        Rules {
            stabilization_s: 0,
            policies: vec![
                Policy {
                    percent: true,
                    value: 100,
                    period_s: 15,
                },
                Policy {
                    percent: false,
                    value: 4,
                    period_s: 15,
                },
            ],
            select: Select::Max,
        }
    }

    /// The documented default for scaling down: a 300 s window; all pods may go per 15 s.
    pub fn default_down() -> Rules {
        Rules {
            stabilization_s: 300,
            policies: vec![Policy {
                percent: true,
                value: 100,
                period_s: 15,
            }],
            select: Select::Max,
        }
    }
}

// The manifest, as far as the model needs it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Manifest {
    spec: ManifestSpec,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestSpec {
    min_replicas: Option<u32>,
    max_replicas: u32,
    metrics: Vec<Metric>,
    behavior: Option<Behavior>,
}
#[derive(Deserialize)]
struct Metric {
    resource: Option<Resource>,
}
#[derive(Deserialize)]
struct Resource {
    name: String,
    target: Target,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Target {
    average_utilization: Option<u32>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Behavior {
    scale_up: Option<ManifestRules>,
    scale_down: Option<ManifestRules>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestRules {
    stabilization_window_seconds: Option<u64>,
    select_policy: Option<String>,
    policies: Option<Vec<ManifestPolicy>>,
}
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestPolicy {
    #[serde(rename = "type")]
    kind: String,
    value: u32,
    period_seconds: u64,
}

impl ManifestRules {
    fn apply(self, default: Rules) -> Result<Rules, String> {
        let select = match self.select_policy.as_deref() {
            None | Some("Max") => Select::Max,
            Some("Min") => Select::Min,
            Some("Disabled") => Select::Disabled,
            Some(other) => {
                return Err(format!(
                    "selectPolicy `{other}` is not Max, Min or Disabled"
                ));
            }
        };
        let policies = match self.policies {
            None => default.policies,
            Some(list) => (list.into_iter())
                .map(|p| match p.kind.as_str() {
                    "Pods" | "Percent" => Ok(Policy {
                        percent: p.kind == "Percent",
                        value: p.value,
                        period_s: p.period_seconds,
                    }),
                    other => Err(format!("policy type `{other}` is not Pods or Percent")),
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Rules {
            stabilization_s: self
                .stabilization_window_seconds
                .unwrap_or(default.stabilization_s),
            policies,
            select,
        })
    }
}

impl HpaSpec {
    /// Reads an HPA manifest's YAML: a CPU `Utilization` target is required.
    pub fn from_yaml(text: &str) -> Result<HpaSpec, String> {
        let manifest: Manifest = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        let spec = manifest.spec;
        let target = (spec.metrics.iter())
            .filter_map(|m| m.resource.as_ref())
            .find(|r| r.name == "cpu")
            .and_then(|r| r.target.average_utilization)
            .ok_or("no cpu Utilization metric")?;
        let behavior = spec.behavior.unwrap_or(Behavior {
            scale_up: None,
            scale_down: None,
        });
        let rules = |rules: Option<ManifestRules>, default: Rules| match rules {
            Some(rules) => rules.apply(default),
            None => Ok(default),
        };
        Ok(HpaSpec {
            min_replicas: spec.min_replicas.unwrap_or(1),
            max_replicas: spec.max_replicas,
            target_utilization: f64::from(target) / 100.0,
            scale_up: rules(behavior.scale_up, Rules::default_up())?,
            scale_down: rules(behavior.scale_down, Rules::default_down())?,
        })
    }
}

/// What one sync of the controller sees: the pods' utilisation (a share of their CPU request,
/// averaged over the ready pods), and how many pods are ready and not yet ready.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Observation {
    pub utilization: f64,
    pub ready: u32,
    pub not_ready: u32,
}

/// The controller's memory between syncs: past recommendations and past scale events.
#[derive(Clone, Debug, Default)]
pub struct HpaState {
    recommendations: VecDeque<(u64, u32)>,
    events: VecDeque<(u64, i64)>,
}

/// The replica formula with the tolerance: `ceil(current × utilisation / target)`, or `current`
/// when the ratio is within the tolerance of 1; not-ready pods count as using 0 % when scaling up.
pub fn recommend(spec: &HpaSpec, tolerance: f64, current: u32, seen: Observation) -> u32 {
    if seen.ready == 0 {
        return current;
    }
    let ratio = seen.utilization / spec.target_utilization;
    if (ratio - 1.0).abs() <= tolerance {
        return current;
    }
    let mut ratio = ratio;
    if ratio > 1.0 && seen.not_ready > 0 {
        // Not-ready pods are assumed to use nothing: recompute over all pods.
        let all = f64::from(seen.ready + seen.not_ready);
        ratio = seen.utilization * f64::from(seen.ready) / all / spec.target_utilization;
        if ratio <= 1.0 + tolerance {
            return current;
        }
        return (all * ratio).ceil() as u32;
    }
    (f64::from(seen.ready) * ratio).ceil() as u32
}

impl HpaState {
    /// One sync at time `now`: the new replica count for `current` replicas given `seen`.
    pub fn sync(
        &mut self,
        spec: &HpaSpec,
        tolerance: f64,
        now: u64,
        current: u32,
        seen: Observation,
    ) -> u32 {
        let raw =
            recommend(spec, tolerance, current, seen).clamp(spec.min_replicas, spec.max_replicas);
        if self.recommendations.is_empty() && self.events.is_empty() {
            // The controller's first sync of an HPA starts its history with the current count.
            self.recommendations.push_back((now, current));
        }
        let longest = spec
            .scale_up
            .stabilization_s
            .max(spec.scale_down.stabilization_s);
        while self
            .recommendations
            .front()
            .is_some_and(|(t, _)| now - t >= longest)
        {
            self.recommendations.pop_front();
        }
        // Stabilisation: up to at most the lowest, and down to at least the highest, recommendation
        // within each direction's window (this one included).
        let within = |window: u64| {
            (self.recommendations.iter())
                .filter(move |(t, _)| now - t < window)
                .map(|(_, r)| *r)
        };
        let up_bound = within(spec.scale_up.stabilization_s).fold(raw, u32::min);
        let down_bound = within(spec.scale_down.stabilization_s).fold(raw, u32::max);
        self.recommendations.push_back((now, raw));
        let desired = current.max(up_bound).min(down_bound);
        let limited = if desired > current {
            desired.min(self.limit(&spec.scale_up, now, current, true))
        } else if desired < current {
            desired.max(self.limit(&spec.scale_down, now, current, false))
        } else {
            desired
        }
        .clamp(spec.min_replicas, spec.max_replicas);
        if limited != current {
            self.events
                .push_back((now, i64::from(limited) - i64::from(current)));
        }
        let longest_period = (spec
            .scale_up
            .policies
            .iter()
            .chain(&spec.scale_down.policies))
        .map(|p| p.period_s)
        .max()
        .unwrap_or(0);
        while self
            .events
            .front()
            .is_some_and(|(t, _)| now - t >= longest_period)
        {
            self.events.pop_front();
        }
        limited
    }

    /// The furthest the policies let the replicas go from `current` in one direction.
    fn limit(&self, rules: &Rules, now: u64, current: u32, up: bool) -> u32 {
        let bound = |policy: &Policy| {
            // The replicas at the start of the policy's period: undo the changes made within it.
            let changed: i64 = (self.events.iter())
                .filter(|(t, change)| now - t < policy.period_s && (*change > 0) == up)
                .map(|(_, change)| change)
                .sum();
            let start = (i64::from(current) - changed).max(0) as f64;
            let value = f64::from(policy.value);
            let limit = match (policy.percent, up) {
                (true, true) => (start * (1.0 + value / 100.0)).ceil(),
                (false, true) => start + value,
                (true, false) => (start * (1.0 - value / 100.0)).trunc(),
                (false, false) => start - value,
            };
            limit.max(0.0) as u32
        };
        let bounds = rules.policies.iter().map(bound);
        match (rules.select, up) {
            (Select::Disabled, _) => current,
            (Select::Max, true) | (Select::Min, false) => bounds.max().unwrap_or(current),
            (Select::Min, true) | (Select::Max, false) => bounds.min().unwrap_or(current),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DECLARED: &str = include_str!("../../../deploy/k8s/base/hpa.yaml");

    fn spec(min: u32, max: u32) -> HpaSpec {
        HpaSpec {
            min_replicas: min,
            max_replicas: max,
            target_utilization: 0.5,
            scale_up: Rules::default_up(),
            scale_down: Rules::default_down(),
        }
    }

    fn seen(utilization: f64, ready: u32) -> Observation {
        Observation {
            utilization,
            ready,
            not_ready: 0,
        }
    }

    #[test]
    fn the_replica_formula_follows_the_documentation() {
        // The docs: "if the current metric value is 200m, and the desired value is 100m, the
        // number of replicas will be doubled"; "if the current value is instead 50m, you'll halve".
        let s = spec(1, 100);
        assert_eq!(recommend(&s, 0.1, 4, seen(1.0, 4)), 8);
        assert_eq!(recommend(&s, 0.1, 4, seen(0.25, 4)), 2);
        // The v1.33 blog's example: 50 replicas at 90 % for a 75 % target → 60.
        let s75 = HpaSpec {
            target_utilization: 0.75,
            ..spec(1, 100)
        };
        assert_eq!(recommend(&s75, 0.1, 50, seen(0.9, 50)), 60);
    }

    #[test]
    fn within_the_tolerance_nothing_changes() {
        let s = spec(1, 100);
        assert_eq!(recommend(&s, 0.1, 10, seen(0.54, 10)), 10, "ratio 1.08");
        assert_eq!(recommend(&s, 0.1, 10, seen(0.46, 10)), 10, "ratio 0.92");
        assert_eq!(recommend(&s, 0.1, 10, seen(0.56, 10)), 12, "ratio 1.12");
    }

    #[test]
    fn not_ready_pods_count_as_idle_when_scaling_up() {
        // 2 ready pods at 60 % and 2 starting, target 50 %: over 4 pods that is 30 %, no scale-up.
        let s = spec(1, 100);
        let starting = Observation {
            utilization: 0.6,
            ready: 2,
            not_ready: 2,
        };
        assert_eq!(recommend(&s, 0.1, 4, starting), 4);
    }

    #[test]
    fn the_default_scale_up_doubles_or_adds_four_pods_per_15_seconds() {
        // From 1 replica under a very high load: max(1 × 2, 1 + 4) = 5 in the first 15 s.
        let s = spec(1, 100);
        let mut state = HpaState::default();
        assert_eq!(state.sync(&s, 0.1, 0, 1, seen(50.0, 1)), 5);
        // 15 s later, from 5: max(10, 9) = 10; then 20.
        assert_eq!(state.sync(&s, 0.1, 15, 5, seen(50.0, 5)), 10);
        assert_eq!(state.sync(&s, 0.1, 30, 10, seen(50.0, 10)), 20);
    }

    #[test]
    fn scale_down_waits_for_the_stabilisation_window() {
        // A load that drops: the highest recommendation of the last 300 s holds the replicas.
        let s = spec(1, 100);
        let mut state = HpaState::default();
        assert_eq!(state.sync(&s, 0.1, 0, 10, seen(0.5, 10)), 10);
        assert_eq!(state.sync(&s, 0.1, 15, 10, seen(0.1, 10)), 10);
        assert_eq!(state.sync(&s, 0.1, 299, 10, seen(0.1, 10)), 10);
        // Once the 10-replica recommendation at t=0 is 300 s old: down to 2 at once (100 %/15 s).
        assert_eq!(state.sync(&s, 0.1, 300, 10, seen(0.1, 10)), 2);
    }

    #[test]
    fn the_declared_hpa_is_read_and_removes_one_pod_a_minute() {
        let declared = HpaSpec::from_yaml(DECLARED).unwrap();
        assert_eq!((declared.min_replicas, declared.max_replicas), (3, 10));
        assert_eq!(declared.target_utilization, 0.7);
        assert_eq!(declared.scale_up, Rules::default_up());
        assert_eq!(declared.scale_down.stabilization_s, 300);
        assert_eq!(
            declared.scale_down.policies,
            [Policy {
                percent: false,
                value: 1,
                period_s: 60
            }]
        );
        // At 10 replicas with no load: after the window, one pod a minute.
        let mut state = HpaState::default();
        let idle = seen(0.0, 10);
        let mut replicas = 10;
        let mut at = Vec::new();
        for t in (0..=600).step_by(15) {
            let next = state.sync(&declared, 0.1, t, replicas, idle);
            if next != replicas {
                at.push((t, next));
            }
            replicas = next;
        }
        assert_eq!(
            at,
            [(300, 9), (360, 8), (420, 7), (480, 6), (540, 5), (600, 4)]
        );
    }
}
