//! The cluster bus wire format of Redis 7.0 (cluster.h `clusterMsg`): typed
//! messages with their encoder and a decoder that never panics, accepting
//! exactly what cluster.c's clusterReadHandler and clusterProcessPacket
//! accept.
//!
//! Every message is a fixed 2256-byte header (signature "RCmb", total
//! length, protocol version 1, the sender's ports, name, epochs,
//! replication offset, slot bitmap, master, announced IP, flags, cluster
//! state and message flags; integers big-endian) followed by a body that
//! depends on the type: PING/PONG/MEET carry gossip entries (104 bytes
//! each) and then ping extensions (8-byte aligned; Redis 7.0.15 defines
//! only the hostname one), FAIL a node name, PUBLISH/PUBLISHSHARD a channel
//! and message, UPDATE a node's config epoch and slots, MODULE a module
//! payload; FAILOVER_AUTH_REQUEST/ACK and MFSTART have no body. Redis 7.0
//! has neither the 7.2 "light" header nor the forgotten-node / shard-id
//! extensions.
//!
//! Framing (`frame_len`): the first 8 bytes give the signature and the total
//! length; a bad signature or a length below the header's closes the link.
//! `decode` then checks what clusterProcessPacket checks (version, the
//! length each type implies, extension sizes and padding); a message
//! failing those is dropped by Redis with the link kept (`closes_link`).

use std::fmt;

use super::ids::{NodeFlags, NodeId, SlotBitmap, NAME_LEN, SLOT_BITMAP_LEN};

/// "RCmb": Redis Cluster message bus.
pub const SIGNATURE: &[u8; 4] = b"RCmb";
/// CLUSTER_PROTO_VER.
pub const PROTO_VER: u16 = 1;
/// The header's size (CLUSTERMSG_MIN_LEN): no message is shorter.
pub const HEADER_LEN: usize = 2256;
/// sizeof(clusterMsgDataGossip).
pub const GOSSIP_LEN: usize = 104;
/// NET_IP_STR_LEN: the IP fields' size, NUL terminator included.
pub const IP_LEN: usize = 46;
/// A ping extension's own header (length, type, padding).
pub const EXT_HEADER_LEN: usize = 8;
/// sizeof(clusterMsg): the biggest fixed-size message (an UPDATE's body is
/// the union's biggest member).
pub const MSG_LEN: usize = HEADER_LEN + UPDATE_LEN;
const FAIL_LEN: usize = NAME_LEN;
const UPDATE_LEN: usize = 8 + NAME_LEN + SLOT_BITMAP_LEN;
/// clusterMsgDataPublish without its 8 placeholder bytes.
const PUBLISH_HDR: usize = 8;
/// clusterMsgModule without its 3 placeholder bytes.
const MODULE_HDR: usize = 13;

/// Message types (CLUSTERMSG_TYPE_*).
pub mod msg_type {
    pub const PING: u16 = 0;
    pub const PONG: u16 = 1;
    pub const MEET: u16 = 2;
    pub const FAIL: u16 = 3;
    pub const PUBLISH: u16 = 4;
    pub const FAILOVER_AUTH_REQUEST: u16 = 5;
    pub const FAILOVER_AUTH_ACK: u16 = 6;
    pub const UPDATE: u16 = 7;
    pub const MFSTART: u16 = 8;
    pub const MODULE: u16 = 9;
    pub const PUBLISHSHARD: u16 = 10;
    /// CLUSTERMSG_TYPE_COUNT: the per-type statistics' size.
    pub const COUNT: usize = 11;
}

/// The name CLUSTER INFO and the logs give a type
/// (clusterGetMessageTypeString).
pub fn type_name(t: u16) -> &'static str {
    match t {
        msg_type::PING => "ping",
        msg_type::PONG => "pong",
        msg_type::MEET => "meet",
        msg_type::FAIL => "fail",
        msg_type::PUBLISH => "publish",
        msg_type::PUBLISHSHARD => "publishshard",
        msg_type::FAILOVER_AUTH_REQUEST => "auth-req",
        msg_type::FAILOVER_AUTH_ACK => "auth-ack",
        msg_type::UPDATE => "update",
        msg_type::MFSTART => "mfstart",
        msg_type::MODULE => "module",
        _ => "unknown",
    }
}

/// Message flags, byte 0 (CLUSTERMSG_FLAG0_*).
pub mod mflag0 {
    /// Master paused for a manual failover.
    pub const PAUSED: u8 = 1;
    /// Give an ACK to an AUTH_REQUEST even if the master is up.
    pub const FORCEACK: u8 = 2;
    /// The message carries ping extensions.
    pub const EXT_DATA: u8 = 4;
}

/// Ping extension types (clusterMsgPingtypes).
pub const EXT_TYPE_HOSTNAME: u16 = 0;

/// The header fields a message carries besides its type and body.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Header {
    /// Client port (the TLS port in a TLS cluster).
    pub port: u16,
    pub current_epoch: u64,
    /// The sender's config epoch, or its master's if it is a replica.
    pub config_epoch: u64,
    /// Replication offset (master's, or processed offset of a replica).
    pub offset: u64,
    pub sender: NodeId,
    /// The sender's slots, or its master's if it is a replica.
    pub myslots: SlotBitmap,
    /// The sender's master (`None`: all zeros on the wire, a master).
    pub slaveof: Option<NodeId>,
    /// `cluster-announce-ip` (empty: receivers use the socket's address);
    /// at most 45 bytes.
    pub myip: Vec<u8>,
    /// Plaintext client port when `port` is the TLS one, else 0.
    pub pport: u16,
    /// Cluster bus port.
    pub cport: u16,
    pub flags: NodeFlags,
    /// The cluster state as the sender sees it (0 ok, 1 fail).
    pub state: u8,
    /// CLUSTERMSG_FLAG0/1/2 bytes. `encode` sets EXT_DATA when a ping
    /// carries extensions.
    pub mflags: [u8; 3],
}

/// One gossip entry: what the sender knows of another node.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Gossip {
    pub name: NodeId,
    /// Seconds (Redis sends its ms times divided by 1000, truncated to 32 bits).
    pub ping_sent: u32,
    pub pong_received: u32,
    /// At most 45 bytes.
    pub ip: Vec<u8>,
    pub port: u16,
    pub cport: u16,
    pub flags: NodeFlags,
    pub pport: u16,
}

/// A ping extension.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum PingExt {
    /// The sender's announced hostname (no NUL inside).
    Hostname(Vec<u8>),
    /// A type Redis 7.0 does not know: logged and skipped. `data` is the
    /// extension's body, padding included (a multiple of 8 bytes).
    Unknown { ext_type: u16, data: Vec<u8> },
}

/// The body of PING, PONG and MEET.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Ping {
    pub gossip: Vec<Gossip>,
    pub extensions: Vec<PingExt>,
}

/// A message's type and body.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Body {
    Ping(Ping),
    Pong(Ping),
    Meet(Ping),
    /// Mark `about` as failing.
    Fail {
        about: NodeId,
    },
    Publish {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    PublishShard {
        channel: Vec<u8>,
        message: Vec<u8>,
    },
    FailoverAuthRequest,
    FailoverAuthAck,
    /// Pause clients for a manual failover.
    MfStart,
    /// Another node's slots configuration.
    Update {
        config_epoch: u64,
        node: NodeId,
        slots: SlotBitmap,
    },
    /// `module_id` is opaque (the module API's byte order, passed as is).
    Module {
        module_id: [u8; 8],
        module_type: u8,
        payload: Vec<u8>,
    },
    /// A type Redis 7.0 does not know: accepted whatever its length, ignored.
    Unknown {
        msg_type: u16,
        data: Vec<u8>,
    },
}

impl Body {
    /// The wire type (CLUSTERMSG_TYPE_*).
    pub fn msg_type(&self) -> u16 {
        match self {
            Body::Ping(_) => msg_type::PING,
            Body::Pong(_) => msg_type::PONG,
            Body::Meet(_) => msg_type::MEET,
            Body::Fail { .. } => msg_type::FAIL,
            Body::Publish { .. } => msg_type::PUBLISH,
            Body::PublishShard { .. } => msg_type::PUBLISHSHARD,
            Body::FailoverAuthRequest => msg_type::FAILOVER_AUTH_REQUEST,
            Body::FailoverAuthAck => msg_type::FAILOVER_AUTH_ACK,
            Body::MfStart => msg_type::MFSTART,
            Body::Update { .. } => msg_type::UPDATE,
            Body::Module { .. } => msg_type::MODULE,
            Body::Unknown { msg_type, .. } => *msg_type,
        }
    }

    /// The gossip and extensions of a PING, PONG or MEET.
    pub fn ping(&self) -> Option<&Ping> {
        match self {
            Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => Some(p),
            _ => None,
        }
    }
}

/// A whole cluster bus message.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Message {
    pub header: Header,
    pub body: Body,
}

/// Why a message was refused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum BusError {
    /// Not "RCmb": Redis closes the link.
    BadSignature,
    /// A total length below the header's: Redis closes the link.
    TooShort { totlen: u32 },
    /// `decode` was given fewer or more bytes than the total length says.
    NotOneMessage { have: usize, totlen: u32 },
    /// Not protocol version 1: ignored.
    Version(u16),
    /// More gossip entries than the length holds.
    GossipOverflow {
        msg_type: u16,
        count: u16,
        totlen: u32,
    },
    /// An extension header or body past the end.
    ExtOverflow { msg_type: u16, totlen: u32 },
    /// An extension length not a multiple of 8 or below its header.
    ExtPadding { msg_type: u16, len: u32 },
    /// A hostname extension without its NUL terminator.
    ExtNotTerminated { msg_type: u16, ext_type: u16 },
    /// The length the type implies differs from the total length.
    Length {
        msg_type: u16,
        totlen: u32,
        expected: u64,
    },
}

impl BusError {
    /// True for the errors after which Redis frees the link (framing);
    /// the others make it ignore the message only.
    pub fn closes_link(&self) -> bool {
        matches!(self, BusError::BadSignature | BusError::TooShort { .. })
    }
}

impl fmt::Display for BusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BusError::BadSignature | BusError::TooShort { .. } => {
                f.write_str("Bad message length or signature received from Cluster bus.")
            }
            BusError::NotOneMessage { have, totlen } => {
                write!(f, "Received {have} bytes for a message of length {totlen}")
            }
            BusError::Version(v) => write!(f, "Received a message of protocol version {v}"),
            BusError::GossipOverflow { msg_type, count, totlen } => write!(
                f,
                "Received invalid {} packet with gossip count {} that exceeds total packet length ({})",
                type_name(*msg_type),
                count,
                totlen
            ),
            BusError::ExtOverflow { msg_type, totlen } => write!(
                f,
                "Received invalid {} packet with extension data that exceeds total packet length ({})",
                type_name(*msg_type),
                totlen
            ),
            BusError::ExtPadding { msg_type, len } => write!(
                f,
                "Received a {} packet without proper padding ({} bytes)",
                type_name(*msg_type),
                len
            ),
            BusError::ExtNotTerminated { msg_type, ext_type } => write!(
                f,
                "Received {} packet with missing null terminator in extension type {}",
                type_name(*msg_type),
                ext_type
            ),
            BusError::Length { msg_type, totlen, expected } => write!(
                f,
                "Received invalid {} packet of length {} but expected length {}",
                type_name(*msg_type),
                totlen,
                expected
            ),
        }
    }
}

impl std::error::Error for BusError {}

/// The total length of the message at the start of `buf`, once its first
/// 8 bytes are there (`Ok(None)` before); errors are the framing checks
/// clusterReadHandler makes, after which the link is closed.
pub fn frame_len(buf: &[u8]) -> Result<Option<usize>, BusError> {
    if buf.len() < 8 {
        return Ok(None);
    }
    if &buf[..4] != SIGNATURE {
        return Err(BusError::BadSignature);
    }
    let totlen = be32(buf, 4);
    if (totlen as usize) < HEADER_LEN {
        return Err(BusError::TooShort { totlen });
    }
    Ok(Some(totlen as usize))
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn be64(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(a)
}

fn name_at(b: &[u8], at: usize) -> NodeId {
    let mut id = [0u8; NAME_LEN];
    id.copy_from_slice(&b[at..at + NAME_LEN]);
    NodeId(id)
}

fn bitmap_at(b: &[u8], at: usize) -> SlotBitmap {
    let mut bm = SlotBitmap::default();
    bm.0.copy_from_slice(&b[at..at + SLOT_BITMAP_LEN]);
    bm
}

/// A NUL-terminated IP field: the bytes before the first NUL, at most 45
/// (Redis terminates the copy at the last byte).
fn ip_at(b: &[u8], at: usize) -> Vec<u8> {
    let field = &b[at..at + IP_LEN - 1];
    let end = field.iter().position(|&c| c == 0).unwrap_or(field.len());
    field[..end].to_vec()
}

/// Decodes one whole message (`buf.len()` must be its total length),
/// checking it as clusterProcessPacket does.
pub fn decode(buf: &[u8]) -> Result<Message, BusError> {
    let totlen = match frame_len(buf)? {
        Some(n) => n,
        None => {
            return Err(BusError::NotOneMessage {
                have: buf.len(),
                totlen: 0,
            })
        }
    };
    if buf.len() != totlen {
        return Err(BusError::NotOneMessage {
            have: buf.len(),
            totlen: totlen as u32,
        });
    }
    let tl32 = totlen as u32;
    let ver = be16(buf, 8);
    if ver != PROTO_VER {
        return Err(BusError::Version(ver));
    }
    let mtype = be16(buf, 12);
    let count = be16(buf, 14);
    let extensions = be16(buf, 2214);
    let mflags = [buf[2253], buf[2254], buf[2255]];
    let slaveof = name_at(buf, 2128);
    let header = Header {
        port: be16(buf, 10),
        current_epoch: be64(buf, 16),
        config_epoch: be64(buf, 24),
        offset: be64(buf, 32),
        sender: name_at(buf, 40),
        myslots: bitmap_at(buf, 80),
        slaveof: (!slaveof.is_null()).then_some(slaveof),
        myip: ip_at(buf, 2168),
        pport: be16(buf, 2246),
        cport: be16(buf, 2248),
        flags: NodeFlags(be16(buf, 2250)),
        state: buf[2252],
        mflags,
    };
    let data = &buf[HEADER_LEN..];
    let length_err = |expected: u64| BusError::Length {
        msg_type: mtype,
        totlen: tl32,
        expected,
    };
    let exact = |len: usize| -> Result<(), BusError> {
        if data.len() == len {
            Ok(())
        } else {
            Err(length_err((HEADER_LEN + len) as u64))
        }
    };
    let body = match mtype {
        msg_type::PING | msg_type::PONG | msg_type::MEET => {
            let ping = decode_ping(data, mtype, count, extensions, mflags[0], tl32)?;
            match mtype {
                msg_type::PING => Body::Ping(ping),
                msg_type::PONG => Body::Pong(ping),
                _ => Body::Meet(ping),
            }
        }
        msg_type::FAIL => {
            exact(FAIL_LEN)?;
            Body::Fail {
                about: name_at(data, 0),
            }
        }
        msg_type::PUBLISH | msg_type::PUBLISHSHARD => {
            if data.len() < PUBLISH_HDR {
                return Err(length_err((HEADER_LEN + PUBLISH_HDR) as u64));
            }
            let (clen, mlen) = (be32(data, 0) as usize, be32(data, 4) as usize);
            let want = PUBLISH_HDR as u64 + clen as u64 + mlen as u64;
            if data.len() as u64 != want {
                return Err(length_err(HEADER_LEN as u64 + want));
            }
            let channel = data[PUBLISH_HDR..PUBLISH_HDR + clen].to_vec();
            let message = data[PUBLISH_HDR + clen..].to_vec();
            if mtype == msg_type::PUBLISH {
                Body::Publish { channel, message }
            } else {
                Body::PublishShard { channel, message }
            }
        }
        msg_type::FAILOVER_AUTH_REQUEST | msg_type::FAILOVER_AUTH_ACK | msg_type::MFSTART => {
            exact(0)?;
            match mtype {
                msg_type::FAILOVER_AUTH_REQUEST => Body::FailoverAuthRequest,
                msg_type::FAILOVER_AUTH_ACK => Body::FailoverAuthAck,
                _ => Body::MfStart,
            }
        }
        msg_type::UPDATE => {
            exact(UPDATE_LEN)?;
            Body::Update {
                config_epoch: be64(data, 0),
                node: name_at(data, 8),
                slots: bitmap_at(data, 8 + NAME_LEN),
            }
        }
        msg_type::MODULE => {
            if data.len() < MODULE_HDR {
                return Err(length_err((HEADER_LEN + MODULE_HDR) as u64));
            }
            let len = be32(data, 8) as u64;
            if data.len() as u64 != MODULE_HDR as u64 + len {
                return Err(length_err((HEADER_LEN + MODULE_HDR) as u64 + len));
            }
            let mut module_id = [0u8; 8];
            module_id.copy_from_slice(&data[..8]);
            Body::Module {
                module_id,
                module_type: data[12],
                payload: data[MODULE_HDR..].to_vec(),
            }
        }
        other => Body::Unknown {
            msg_type: other,
            data: data.to_vec(),
        },
    };
    Ok(Message { header, body })
}

/// The gossip section and, when the EXT_DATA flag says so, the extensions.
fn decode_ping(
    data: &[u8],
    mtype: u16,
    count: u16,
    extensions: u16,
    mflags0: u8,
    totlen: u32,
) -> Result<Ping, BusError> {
    let gossip_len = count as usize * GOSSIP_LEN;
    if data.len() < gossip_len {
        return Err(BusError::GossipOverflow {
            msg_type: mtype,
            count,
            totlen,
        });
    }
    let gossip = data[..gossip_len]
        .chunks_exact(GOSSIP_LEN)
        .map(|g| Gossip {
            name: name_at(g, 0),
            ping_sent: be32(g, 40),
            pong_received: be32(g, 44),
            ip: ip_at(g, 48),
            port: be16(g, 94),
            cport: be16(g, 96),
            flags: NodeFlags(be16(g, 98)),
            pport: be16(g, 100),
        })
        .collect();
    let mut pos = gossip_len;
    let mut exts = Vec::new();
    if mflags0 & mflag0::EXT_DATA != 0 {
        for _ in 0..extensions {
            let rest = &data[pos..];
            if rest.len() < EXT_HEADER_LEN {
                return Err(BusError::ExtOverflow {
                    msg_type: mtype,
                    totlen,
                });
            }
            // Redis keeps this length in a uint16_t while validating (and
            // steps by the full 32 bits when processing); the full value
            // is the one that makes both agree.
            let len = be32(rest, 0);
            if (len as usize) < EXT_HEADER_LEN || !len.is_multiple_of(8) {
                return Err(BusError::ExtPadding {
                    msg_type: mtype,
                    len,
                });
            }
            if rest.len() < len as usize {
                return Err(BusError::ExtOverflow {
                    msg_type: mtype,
                    totlen,
                });
            }
            let ext_type = be16(rest, 4);
            let body = &rest[EXT_HEADER_LEN..len as usize];
            exts.push(if ext_type == EXT_TYPE_HOSTNAME {
                if body.last() != Some(&0) {
                    return Err(BusError::ExtNotTerminated {
                        msg_type: mtype,
                        ext_type,
                    });
                }
                let end = body.iter().position(|&c| c == 0).unwrap_or(body.len());
                PingExt::Hostname(body[..end].to_vec())
            } else {
                PingExt::Unknown {
                    ext_type,
                    data: body.to_vec(),
                }
            });
            pos += len as usize;
        }
    }
    if pos != data.len() {
        return Err(BusError::Length {
            msg_type: mtype,
            totlen,
            expected: (HEADER_LEN + pos) as u64,
        });
    }
    Ok(Ping {
        gossip,
        extensions: exts,
    })
}

fn put_ip(out: &mut [u8], ip: &[u8]) {
    let n = ip.len().min(IP_LEN - 1);
    out[..n].copy_from_slice(&ip[..n]);
}

impl Message {
    /// The wire bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + 256);
        self.encode_into(&mut out);
        out
    }

    /// Appends the wire bytes to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + HEADER_LEN, 0);
        let h = &self.header;
        let mut count = 0u16;
        let mut n_ext = 0u16;
        let mut mflags = h.mflags;
        match &self.body {
            Body::Ping(p) | Body::Pong(p) | Body::Meet(p) => {
                count = p.gossip.len() as u16;
                for g in &p.gossip {
                    let at = out.len();
                    out.resize(at + GOSSIP_LEN, 0);
                    let e = &mut out[at..];
                    e[..NAME_LEN].copy_from_slice(&g.name.0);
                    e[40..44].copy_from_slice(&g.ping_sent.to_be_bytes());
                    e[44..48].copy_from_slice(&g.pong_received.to_be_bytes());
                    put_ip(&mut e[48..48 + IP_LEN], &g.ip);
                    e[94..96].copy_from_slice(&g.port.to_be_bytes());
                    e[96..98].copy_from_slice(&g.cport.to_be_bytes());
                    e[98..100].copy_from_slice(&g.flags.0.to_be_bytes());
                    e[100..102].copy_from_slice(&g.pport.to_be_bytes());
                }
                for x in &p.extensions {
                    let (ext_type, data): (u16, &[u8]) = match x {
                        PingExt::Hostname(h) => (EXT_TYPE_HOSTNAME, h),
                        PingExt::Unknown { ext_type, data } => (*ext_type, data),
                    };
                    // A hostname gets its NUL; every body is padded to 8.
                    let nul = usize::from(ext_type == EXT_TYPE_HOSTNAME);
                    let padded = (data.len() + nul).div_ceil(8) * 8;
                    let len = (EXT_HEADER_LEN + padded) as u32;
                    out.extend_from_slice(&len.to_be_bytes());
                    out.extend_from_slice(&ext_type.to_be_bytes());
                    out.extend_from_slice(&[0, 0]);
                    out.extend_from_slice(data);
                    out.resize(out.len() + padded - data.len(), 0);
                    n_ext += 1;
                }
                if n_ext > 0 {
                    mflags[0] |= mflag0::EXT_DATA;
                }
            }
            Body::Fail { about } => out.extend_from_slice(&about.0),
            Body::Publish { channel, message } | Body::PublishShard { channel, message } => {
                out.extend_from_slice(&(channel.len() as u32).to_be_bytes());
                out.extend_from_slice(&(message.len() as u32).to_be_bytes());
                out.extend_from_slice(channel);
                out.extend_from_slice(message);
            }
            Body::FailoverAuthRequest | Body::FailoverAuthAck | Body::MfStart => {}
            Body::Update {
                config_epoch,
                node,
                slots,
            } => {
                out.extend_from_slice(&config_epoch.to_be_bytes());
                out.extend_from_slice(&node.0);
                out.extend_from_slice(&slots.0[..]);
            }
            Body::Module {
                module_id,
                module_type,
                payload,
            } => {
                out.extend_from_slice(module_id);
                out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                out.push(*module_type);
                out.extend_from_slice(payload);
            }
            Body::Unknown { data, .. } => out.extend_from_slice(data),
        }
        let totlen = (out.len() - start) as u32;
        let hb = &mut out[start..start + HEADER_LEN];
        hb[..4].copy_from_slice(SIGNATURE);
        hb[4..8].copy_from_slice(&totlen.to_be_bytes());
        hb[8..10].copy_from_slice(&PROTO_VER.to_be_bytes());
        hb[10..12].copy_from_slice(&h.port.to_be_bytes());
        hb[12..14].copy_from_slice(&self.body.msg_type().to_be_bytes());
        hb[14..16].copy_from_slice(&count.to_be_bytes());
        hb[16..24].copy_from_slice(&h.current_epoch.to_be_bytes());
        hb[24..32].copy_from_slice(&h.config_epoch.to_be_bytes());
        hb[32..40].copy_from_slice(&h.offset.to_be_bytes());
        hb[40..80].copy_from_slice(&h.sender.0);
        hb[80..2128].copy_from_slice(&h.myslots.0[..]);
        if let Some(m) = &h.slaveof {
            hb[2128..2168].copy_from_slice(&m.0);
        }
        put_ip(&mut hb[2168..2168 + IP_LEN], &h.myip);
        hb[2214..2216].copy_from_slice(&n_ext.to_be_bytes());
        hb[2246..2248].copy_from_slice(&h.pport.to_be_bytes());
        hb[2248..2250].copy_from_slice(&h.cport.to_be_bytes());
        hb[2250..2252].copy_from_slice(&h.flags.0.to_be_bytes());
        hb[2252] = h.state;
        hb[2253..2256].copy_from_slice(&mflags);
    }
}

#[cfg(test)]
#[path = "bus_tests.rs"]
mod tests;
