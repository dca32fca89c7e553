//! Replica failover, as decisions over the cluster state (cluster.c's
//! clusterHandleSlaveFailover, clusterSendFailoverAuthIfNeeded,
//! clusterGetSlaveRank, clusterFailoverReplaceYourMaster, the manual
//! failover state machine and clusterHandleSlaveMigration). Nothing here
//! does I/O: each step takes the state, the election bookkeeping
//! ([`Election`]) and the facts the caller knows ([`Env`]: the time, the
//! configuration, our replication offset and how long we have been
//! without our master), changes the state and returns the [`Effect`]s —
//! messages to send, log lines, saves, replication changes — for the bus
//! driver to apply. Log lines are Redis's own words.

use super::ids::{NodeFlags, NodeId, SlotBitmap};
use super::slot::CLUSTER_SLOTS;
use super::state::{ClusterState, Health, NodeIdx};

/// How long a manual failover may take (CLUSTER_MF_TIMEOUT, ms).
pub const MF_TIMEOUT: i64 = 5000;
/// A master pauses its writes this many MF_TIMEOUTs for a manual
/// failover (CLUSTER_MF_PAUSE_MULT).
pub const MF_PAUSE_MULT: i64 = 2;
/// A master must be orphaned this long before a replica migrates to it
/// (CLUSTER_SLAVE_MIGRATION_DELAY, ms).
pub const REPLICA_MIGRATION_DELAY: i64 = 5000;
/// The same "can't failover" reason is logged again after this many
/// seconds (CLUSTER_CANT_FAILOVER_RELOG_PERIOD).
pub const CANT_FAILOVER_RELOG_PERIOD: i64 = 10;

/// Why a replica is not failing over (CLUSTER_CANT_FAILOVER_*).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub enum CantFailover {
    #[default]
    None,
    DataAge,
    WaitingDelay,
    Expired,
    WaitingVotes,
}

impl CantFailover {
    fn message(self) -> &'static str {
        match self {
            CantFailover::DataAge => {
                "Disconnected from master for longer than allowed. Please check the \
                 'cluster-replica-validity-factor' configuration option."
            }
            CantFailover::WaitingDelay => "Waiting the delay before I can start a new failover.",
            CantFailover::Expired => "Failover attempt expired.",
            CantFailover::WaitingVotes => "Waiting for votes, but majority still not reached.",
            CantFailover::None => "Unknown reason code.",
        }
    }
}

/// The election and manual-failover bookkeeping (clusterState's
/// failover_auth_* and mf_* fields).
#[derive(Clone, Debug)]
pub struct Election {
    /// When the election may start (ms), or when the last one started.
    pub auth_time: i64,
    /// Votes received so far.
    pub auth_count: usize,
    /// Whether the vote requests went out.
    pub auth_sent: bool,
    pub auth_rank: usize,
    /// The epoch of the current election.
    pub auth_epoch: u64,
    pub cant_failover_reason: CantFailover,
    /// When the last "Currently unable to failover" line was logged (s).
    pub last_cant_log: i64,
    /// Manual failover deadline (ms), 0 when none is in progress.
    pub mf_end: i64,
    /// Replica side: the master's offset matched, the election may start.
    pub mf_can_start: bool,
    /// Master side: the replica that asked (MFSTART); clients are paused.
    pub mf_replica: Option<NodeIdx>,
    /// Replica side: the offset the paused master announced, -1 if none.
    pub mf_master_offset: i64,
}

impl Default for Election {
    fn default() -> Election {
        Election {
            auth_time: 0,
            auth_count: 0,
            auth_sent: false,
            auth_rank: 0,
            auth_epoch: 0,
            cant_failover_reason: CantFailover::None,
            last_cant_log: 0,
            mf_end: 0,
            mf_can_start: false,
            mf_replica: None,
            mf_master_offset: -1,
        }
    }
}

/// What the caller knows that the cluster state does not.
#[derive(Clone, Copy, Debug)]
pub struct Env {
    /// Unix time in ms.
    pub now: i64,
    /// cluster-node-timeout (ms).
    pub node_timeout: i64,
    /// cluster-replica-validity-factor (0: any data age is fine).
    pub validity_factor: i64,
    /// repl-ping-replica-period (s).
    pub repl_ping_period: i64,
    /// cluster-replica-no-failover.
    pub no_failover: bool,
    /// Our replication offset (replicationGetSlaveOffset).
    pub my_offset: i64,
    /// How long (ms) since we last heard from our master, or since the
    /// link went down when it is not connected.
    pub data_age: i64,
    /// A random number for the election's jitter.
    pub random: u64,
}

/// A step for the bus driver to take.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Effect {
    /// A line for the log at warning level.
    Log(String),
    /// Broadcast FAILOVER_AUTH_REQUEST (with FORCEACK when `force_ack`).
    RequestAuth { force_ack: bool },
    /// Send FAILOVER_AUTH_ACK to this node.
    SendAuthAck(NodeIdx),
    /// Send MFSTART to this node (our master).
    SendMfStart(NodeIdx),
    /// PONG to the other replicas of our master (our new offset).
    PongLocalReplicas,
    /// PONG to every node (our new role and slots).
    PongAll,
    /// Save nodes.conf (fsynced).
    SaveConfig,
    /// Re-evaluate the cluster's health.
    UpdateState,
    /// Run the failover handling again before sleeping.
    HandleFailoverSoon,
    /// Stop replicating: we are a master now (replicationUnsetMaster).
    UnsetReplicationMaster,
    /// Replicate from this node (clusterSetMaster): a replica migration.
    ReplicateFrom(NodeIdx),
    /// Lift the client pause a manual failover put on us as a master.
    UnpauseClients,
    /// Pause writes until this time (ms): a replica's manual failover.
    PauseWritesUntil(i64),
    /// PING this node now (it carries our offset with the PAUSED flag).
    Ping(NodeIdx),
}

/// A FAILOVER_AUTH_REQUEST's facts (its header).
#[derive(Clone, Copy, Debug)]
pub struct VoteRequest<'a> {
    pub current_epoch: u64,
    pub config_epoch: u64,
    pub claimed_slots: &'a SlotBitmap,
    /// mflags[0] has CLUSTERMSG_FLAG0_FORCEACK (a manual failover).
    pub force_ack: bool,
}

fn name(st: &ClusterState, idx: NodeIdx) -> String {
    String::from_utf8_lossy(st.node(idx).name.as_bytes()).into_owned()
}

/// clusterCountNonFailingSlaves.
pub fn non_failing_replicas(st: &ClusterState, master: NodeIdx) -> usize {
    st.node(master)
        .replicas
        .iter()
        .filter(|&&r| !st.node(r).failed())
        .count()
}

/// clusterSendFailoverAuthIfNeeded: decides whether we (a master serving
/// slots) vote for `requester`. On a vote the state remembers it (last
/// vote epoch, the master's voted time) and the effects send the ACK; a
/// refusal is only logged, as Redis does (nothing is logged when we have
/// no vote at all).
pub fn vote(
    st: &mut ClusterState,
    requester: NodeIdx,
    req: &VoteRequest,
    node_timeout: i64,
    now: i64,
) -> Vec<Effect> {
    let me = st.myself_node();
    if me.is_replica() || me.numslots == 0 {
        return Vec::new();
    }
    let who = name(st, requester);
    let deny = |why: String| vec![Effect::Log(format!("Failover auth denied to {who}: {why}"))];
    if req.current_epoch < st.current_epoch {
        return deny(format!(
            "reqEpoch ({}) < curEpoch({})",
            req.current_epoch, st.current_epoch
        ));
    }
    if st.last_vote_epoch == st.current_epoch {
        return deny(format!("already voted for epoch {}", st.current_epoch));
    }
    let node = st.node(requester);
    let master = node.replica_of;
    if node.is_master() {
        return deny("it is a master node".into());
    }
    let Some(master) = master else {
        return deny("I don't know its master".into());
    };
    if !st.node(master).failed() && !req.force_ack {
        return deny("its master is up".into());
    }
    let since_vote = now - st.node(master).voted_time;
    if since_vote < node_timeout * 2 {
        return deny(format!(
            "can't vote about this master before {} milliseconds",
            node_timeout * 2 - since_vote
        ));
    }
    for slot in 0..CLUSTER_SLOTS {
        if !req.claimed_slots.get(slot) {
            continue;
        }
        let Some(owner) = st.slot_owner(slot) else {
            continue;
        };
        let epoch = st.node(owner).config_epoch;
        if epoch > req.config_epoch {
            return deny(format!(
                "slot {slot} epoch ({epoch}) > reqEpoch ({})",
                req.config_epoch
            ));
        }
    }
    st.last_vote_epoch = st.current_epoch;
    st.node_mut(master).voted_time = now;
    vec![
        Effect::SaveConfig,
        Effect::SendAuthAck(requester),
        Effect::Log(format!(
            "Failover auth granted to {who} for epoch {}",
            st.current_epoch
        )),
    ]
}

/// A FAILOVER_AUTH_ACK from `sender` (whose header said
/// `sender_current_epoch`): counted when it comes from a master serving
/// slots that knows our election's epoch. True when counted (the caller
/// then handles the failover before sleeping).
pub fn receive_auth_ack(
    st: &ClusterState,
    el: &mut Election,
    sender: NodeIdx,
    sender_current_epoch: u64,
) -> bool {
    let n = st.node(sender);
    if n.is_master() && n.numslots > 0 && sender_current_epoch >= el.auth_epoch {
        el.auth_count += 1;
        true
    } else {
        false
    }
}

/// clusterGetSlaveRank: how many other replicas of our master (that may
/// fail over) claim a greater replication offset than ours.
pub fn replica_rank(st: &ClusterState, my_offset: i64) -> usize {
    let me = st.myself;
    let Some(master) = st.myself_node().replica_of else {
        return 0;
    };
    st.node(master)
        .replicas
        .iter()
        .filter(|&&r| {
            let n = st.node(r);
            r != me && !n.flags.any(NodeFlags::NOFAILOVER) && n.repl_offset > my_offset
        })
        .count()
}

/// clusterLogCantFailover: the reason is logged when it changes or every
/// CANT_FAILOVER_RELOG_PERIOD seconds, and not while the master failed
/// less than node_timeout + 5 s ago.
fn log_cant_failover(
    st: &ClusterState,
    el: &mut Election,
    env: &Env,
    reason: CantFailover,
) -> Vec<Effect> {
    let now_s = env.now / 1000;
    if reason == el.cant_failover_reason && now_s - el.last_cant_log < CANT_FAILOVER_RELOG_PERIOD {
        return Vec::new();
    }
    el.cant_failover_reason = reason;
    if let Some(m) = st.myself_node().replica_of {
        let m = st.node(m);
        if m.failed() && env.now - m.fail_time < env.node_timeout + 5000 {
            return Vec::new();
        }
    }
    el.last_cant_log = now_s;
    vec![Effect::Log(format!(
        "Currently unable to failover: {}",
        reason.message()
    ))]
}

/// clusterFailoverReplaceYourMaster: myself becomes a master and takes
/// every slot of its old master; the effects stop replication, save,
/// update the health and PONG everyone. Any manual failover ends.
pub fn replace_your_master(st: &mut ClusterState, el: &mut Election) -> Vec<Effect> {
    let me = st.myself;
    let Some(old) = st.myself_node().replica_of else {
        return Vec::new();
    };
    if st.myself_node().is_master() {
        return Vec::new();
    }
    st.set_node_as_master(me);
    for slot in 0..CLUSTER_SLOTS {
        if st.node(old).slots.get(slot) {
            st.del_slot(slot);
            st.add_slot(me, slot);
        }
    }
    let mut fx = vec![
        Effect::UnsetReplicationMaster,
        Effect::UpdateState,
        Effect::SaveConfig,
        Effect::PongAll,
    ];
    fx.extend(reset_manual_failover(el));
    fx
}

/// clusterHandleSlaveFailover, run from the cron and before sleeping.
pub fn handle_replica_failover(st: &mut ClusterState, el: &mut Election, env: &Env) -> Vec<Effect> {
    let auth_age = env.now - el.auth_time;
    let needed_quorum = st.size / 2 + 1;
    let manual = el.mf_end != 0 && el.mf_can_start;
    let auth_timeout = (env.node_timeout * 2).max(2000);
    let auth_retry_time = auth_timeout * 2;

    let me = st.myself_node();
    let master = me.replica_of.filter(|_| me.is_replica());
    let Some(master) = master else {
        el.cant_failover_reason = CantFailover::None;
        return Vec::new();
    };
    let m = st.node(master);
    // Only for a failed master (or a manual failover), not with
    // cluster-replica-no-failover (unless manual), and never for a master
    // without slots.
    let wanted = manual || (m.failed() && !env.no_failover);
    if !wanted || m.numslots == 0 {
        el.cant_failover_reason = CantFailover::None;
        return Vec::new();
    }

    let mut data_age = env.data_age;
    if data_age > env.node_timeout {
        data_age -= env.node_timeout;
    }
    if env.validity_factor != 0
        && data_age > env.repl_ping_period * 1000 + env.node_timeout * env.validity_factor
        && !manual
    {
        return log_cant_failover(st, el, env, CantFailover::DataAge);
    }

    if auth_age > auth_retry_time {
        el.auth_time = env.now + 500 + (env.random % 500) as i64;
        el.auth_count = 0;
        el.auth_sent = false;
        el.auth_rank = replica_rank(st, env.my_offset);
        el.auth_time += el.auth_rank as i64 * 1000;
        let mut fx = Vec::new();
        if el.mf_end != 0 {
            el.auth_time = env.now;
            el.auth_rank = 0;
            fx.push(Effect::HandleFailoverSoon);
        }
        fx.push(Effect::Log(format!(
            "Start of election delayed for {} milliseconds (rank #{}, offset {}).",
            el.auth_time - env.now,
            el.auth_rank,
            env.my_offset
        )));
        fx.push(Effect::PongLocalReplicas);
        return fx;
    }

    let mut fx = Vec::new();
    if !el.auth_sent && el.mf_end == 0 {
        let newrank = replica_rank(st, env.my_offset);
        if newrank > el.auth_rank {
            let added = (newrank - el.auth_rank) as i64 * 1000;
            el.auth_time += added;
            el.auth_rank = newrank;
            fx.push(Effect::Log(format!(
                "Replica rank updated to #{newrank}, added {added} milliseconds of delay."
            )));
        }
    }

    if env.now < el.auth_time {
        fx.extend(log_cant_failover(st, el, env, CantFailover::WaitingDelay));
        return fx;
    }
    if auth_age > auth_timeout {
        fx.extend(log_cant_failover(st, el, env, CantFailover::Expired));
        return fx;
    }

    if !el.auth_sent {
        st.current_epoch += 1;
        el.auth_epoch = st.current_epoch;
        fx.push(Effect::Log(format!(
            "Starting a failover election for epoch {}.",
            st.current_epoch
        )));
        fx.push(Effect::RequestAuth {
            force_ack: el.mf_end != 0,
        });
        el.auth_sent = true;
        fx.push(Effect::SaveConfig);
        fx.push(Effect::UpdateState);
        return fx;
    }

    if el.auth_count >= needed_quorum {
        fx.push(Effect::Log(
            "Failover election won: I'm the new master.".into(),
        ));
        let me = st.myself;
        if st.node(me).config_epoch < el.auth_epoch {
            st.node_mut(me).config_epoch = el.auth_epoch;
            fx.push(Effect::Log(format!(
                "configEpoch set to {} after successful failover",
                el.auth_epoch
            )));
        }
        fx.extend(replace_your_master(st, el));
    } else {
        fx.extend(log_cant_failover(st, el, env, CantFailover::WaitingVotes));
    }
    fx
}

/// resetManualFailover: a master that paused its clients for a replica's
/// manual failover lifts the pause.
pub fn reset_manual_failover(el: &mut Election) -> Vec<Effect> {
    let fx = if el.mf_replica.is_some() {
        vec![Effect::UnpauseClients]
    } else {
        Vec::new()
    };
    el.mf_end = 0;
    el.mf_can_start = false;
    el.mf_replica = None;
    el.mf_master_offset = -1;
    fx
}

/// manualFailoverCheckTimeout (from the cron).
pub fn manual_failover_check_timeout(el: &mut Election, now: i64) -> Vec<Effect> {
    if el.mf_end != 0 && el.mf_end < now {
        let mut fx = vec![Effect::Log("Manual failover timed out.".into())];
        fx.extend(reset_manual_failover(el));
        fx
    } else {
        Vec::new()
    }
}

/// clusterHandleManualFailover (from the cron and before sleeping): the
/// replica may start once its offset reached the one its paused master
/// announced. True when the failover should be handled again soon
/// (CLUSTER_TODO_HANDLE_MANUALFAILOVER or _FAILOVER).
pub fn handle_manual_failover(el: &mut Election, my_offset: i64) -> (bool, Vec<Effect>) {
    if el.mf_end == 0 || el.mf_can_start || el.mf_master_offset == -1 {
        return (false, Vec::new());
    }
    if el.mf_master_offset == my_offset {
        el.mf_can_start = true;
        return (
            true,
            vec![
                Effect::HandleFailoverSoon,
                Effect::Log(
                    "All master replication stream processed, manual failover can start.".into(),
                ),
            ],
        );
    }
    (true, Vec::new())
}

/// A packet from our master while a manual failover is in progress: the
/// first offset it sends with the PAUSED flag is the one to reach
/// (clusterProcessPacket). True when taken (the caller handles the manual
/// failover before sleeping).
pub fn receive_master_offset(
    st: &ClusterState,
    el: &mut Election,
    sender: NodeIdx,
    offset: i64,
    paused: bool,
) -> Option<Effect> {
    let me = st.myself_node();
    if el.mf_end != 0
        && me.is_replica()
        && me.replica_of == Some(sender)
        && paused
        && el.mf_master_offset == -1
    {
        el.mf_master_offset = offset;
        return Some(Effect::Log(format!(
            "Received replication offset for paused master manual failover: {offset}"
        )));
    }
    None
}

/// What CLUSTER FAILOVER asks for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ManualMode {
    /// Agree on the offset with the master first.
    Default,
    /// Without the master.
    Force,
    /// Without an election either.
    Takeover,
}

/// The refusals of CLUSTER FAILOVER, worded as Redis's.
pub fn manual_failover_refusal(st: &ClusterState, mode: ManualMode) -> Option<&'static str> {
    let me = st.myself_node();
    if me.is_master() {
        return Some("You should send CLUSTER FAILOVER to a replica");
    }
    let Some(m) = me.replica_of else {
        return Some("I'm a replica but my master is unknown to me");
    };
    let m = st.node(m);
    if mode == ManualMode::Default && (m.failed() || m.link.is_none()) {
        return Some("Master is down or failed, please use CLUSTER FAILOVER FORCE");
    }
    None
}

/// CLUSTER FAILOVER [FORCE|TAKEOVER] once `manual_failover_refusal` said
/// nothing. A takeover bumps the config epoch without consensus and
/// replaces the master at once; FORCE lets the election start without
/// the master; the default asks the master to pause (MFSTART).
pub fn start_manual_failover(
    st: &mut ClusterState,
    el: &mut Election,
    mode: ManualMode,
    now: i64,
) -> Vec<Effect> {
    let mut fx = reset_manual_failover(el);
    el.mf_end = now + MF_TIMEOUT;
    match mode {
        ManualMode::Takeover => {
            fx.push(Effect::Log("Taking over the master (user request).".into()));
            if let Some(e) = bump_config_epoch_without_consensus(st) {
                fx.push(Effect::Log(format!("New configEpoch set to {e}")));
                fx.push(Effect::SaveConfig);
            }
            fx.extend(replace_your_master(st, el));
        }
        ManualMode::Force => {
            fx.push(Effect::Log("Forced failover user request accepted.".into()));
            el.mf_can_start = true;
        }
        ManualMode::Default => {
            fx.push(Effect::Log("Manual failover user request accepted.".into()));
            if let Some(m) = st.myself_node().replica_of {
                fx.push(Effect::SendMfStart(m));
            }
        }
    }
    fx
}

/// clusterBumpConfigEpochWithoutConsensus: a new config epoch for myself
/// unless mine is already the unique greatest; returns it when bumped.
pub fn bump_config_epoch_without_consensus(st: &mut ClusterState) -> Option<u64> {
    let max = st.max_epoch();
    let me = st.myself;
    let cur = st.node(me).config_epoch;
    if cur == 0 || cur != max {
        st.current_epoch += 1;
        let e = st.current_epoch;
        st.node_mut(me).config_epoch = e;
        Some(e)
    } else {
        None
    }
}

/// An MFSTART from `sender` reached us, a master: the replica gets
/// MF_TIMEOUT to catch up while our writes are paused for
/// MF_PAUSE_MULT × MF_TIMEOUT, and is pinged at once (the PING carries our
/// offset with the PAUSED flag). None when the sender is not one of our
/// replicas (ignored, as Redis).
pub fn receive_mfstart(
    st: &ClusterState,
    el: &mut Election,
    sender: NodeIdx,
    now: i64,
) -> Option<Vec<Effect>> {
    let n = st.node(sender);
    if n.replica_of != Some(st.myself) {
        return None;
    }
    let mut fx = reset_manual_failover(el);
    el.mf_end = now + MF_TIMEOUT;
    el.mf_replica = Some(sender);
    fx.push(Effect::PauseWritesUntil(now + MF_TIMEOUT * MF_PAUSE_MULT));
    fx.push(Effect::Log(format!(
        "Manual failover requested by replica {}.",
        name(st, sender)
    )));
    fx.push(Effect::Ping(sender));
    Some(fx)
}

/// clusterHandleSlaveMigration (cron, myself a replica): the orphaned
/// master to migrate to, when we are the candidate replica (the smallest
/// name among the replicas of the masters with the most working
/// replicas), our master keeps more than `migration_barrier` working
/// replicas, and the target has been orphaned for
/// REPLICA_MIGRATION_DELAY. Updates each master's orphaned time.
pub fn replica_migration(
    st: &mut ClusterState,
    max_replicas: usize,
    migration_barrier: usize,
    now: i64,
) -> Vec<Effect> {
    if st.state != Health::Ok {
        return Vec::new();
    }
    let Some(mymaster) = st.myself_node().replica_of else {
        return Vec::new();
    };
    let ok = st
        .node(mymaster)
        .replicas
        .iter()
        .filter(|&&r| !st.node(r).failed() && !st.node(r).timed_out())
        .count();
    if ok <= migration_barrier {
        return Vec::new();
    }
    let mut target: Option<NodeIdx> = None;
    let mut candidate: NodeId = st.myself_node().name;
    for idx in st.node_indexes() {
        let n = st.node(idx);
        let okr = if n.is_master() {
            non_failing_replicas(st, idx)
        } else {
            0
        };
        let orphaned =
            !n.is_replica() && !n.failed() && n.flags.any(NodeFlags::MIGRATE_TO) && okr == 0;
        if okr == max_replicas {
            for &r in &n.replicas {
                let rn = st.node(r).name;
                if rn < candidate {
                    candidate = rn;
                }
            }
        }
        let numslots = n.numslots;
        let n = st.node_mut(idx);
        if orphaned {
            if target.is_none() && numslots > 0 {
                target = Some(idx);
            }
            if n.orphaned_time == 0 {
                n.orphaned_time = now;
            }
        } else {
            n.orphaned_time = 0;
        }
    }
    match target {
        Some(t)
            if candidate == st.myself_node().name
                && now - st.node(t).orphaned_time > REPLICA_MIGRATION_DELAY =>
        {
            vec![
                Effect::Log(format!("Migrating to orphaned master {}", name(st, t))),
                Effect::ReplicateFrom(t),
            ]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "failover_tests.rs"]
mod tests;
