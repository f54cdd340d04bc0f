//! What travels between workers (bincode over timely's channels): a
//! parent's genome and latent on the way to the owners of their children,
//! and news for the leader. A message must come back bit for bit, or remote
//! children would differ from local ones.

use crate::genetics::{Genome, RegionOrigin, REGION_COUNT};
use crate::model::Latent;
use serde::{Deserialize, Serialize};

/// A parent's genome and latent on the way to a worker that owns some of
/// their children.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct AncestorMsg {
    /// The worker it goes to.
    pub to: u32,
    /// The parent's node index.
    pub parent: u32,
    pub genome: Genome,
    pub latent: Latent,
}

/// News for the leader (worker 0).
// A person's 34 region origins make `Person` the large variant; every
// message is moved once into timely's buffer and serialised, so boxing them
// would only add an allocation per person.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Serialize, Deserialize)]
pub(super) enum LeaderMsg {
    /// What simulating one person decided.
    Person {
        node: u32,
        generation: u32,
        /// Place in its generation, to order warnings as one machine would.
        position: u32,
        #[serde(with = "origins")]
        origins: Option<[RegionOrigin; REGION_COUNT]>,
        pool_keys: Vec<String>,
        warning: Option<String>,
    },
    /// People finished (rendered or kept) since the last count.
    Done(u64),
    /// A worker's totals, sent once at the end.
    Tally { rendered: u64, skipped: u64 },
}

/// Region origins in a form bincode can carry: [`RegionOrigin`]'s own serde
/// form is the manifest's internally tagged enum, which only a
/// self-describing format can read back. On the wire each origin is a kind
/// (0 father, 1 mother, 2 pool, 3 blend) and the blend's three weights.
mod origins {
    use super::{RegionOrigin, REGION_COUNT};
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    type Wire = (u8, [f32; 3]);

    fn encode(o: &RegionOrigin) -> Wire {
        match *o {
            RegionOrigin::Father => (0, [0.0; 3]),
            RegionOrigin::Mother => (1, [0.0; 3]),
            RegionOrigin::Pool => (2, [0.0; 3]),
            RegionOrigin::Blend {
                father,
                pool,
                mother,
            } => (3, [father, pool, mother]),
        }
    }

    fn decode((kind, [father, pool, mother]): Wire) -> Option<RegionOrigin> {
        Some(match kind {
            0 => RegionOrigin::Father,
            1 => RegionOrigin::Mother,
            2 => RegionOrigin::Pool,
            3 => RegionOrigin::Blend {
                father,
                pool,
                mother,
            },
            _ => return None,
        })
    }

    pub fn serialize<S: Serializer>(
        origins: &Option<[RegionOrigin; REGION_COUNT]>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        origins
            .as_ref()
            .map(|o| o.iter().map(encode).collect::<Vec<Wire>>())
            .serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<[RegionOrigin; REGION_COUNT]>, D::Error> {
        let Some(wire) = Option::<Vec<Wire>>::deserialize(d)? else {
            return Ok(None);
        };
        let count = wire.len();
        let origins = wire
            .into_iter()
            .map(|w| decode(w).ok_or_else(|| D::Error::custom("unknown region origin")))
            .collect::<Result<Vec<_>, _>>()?;
        <[RegionOrigin; REGION_COUNT]>::try_from(origins)
            .map(Some)
            .map_err(|_| {
                D::Error::custom(format!(
                    "a worker sent {count} region origins, expected {REGION_COUNT}"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genetics::GeneShape;

    #[test]
    fn messages_survive_bincode_bit_for_bit() {
        let shape = GeneShape {
            layers: 2,
            width: 3,
        };
        let mut genome = Genome::zeros(shape);
        for (i, v) in genome.mean.iter_mut().enumerate() {
            *v = (i as f32 * 0.1).sin() / 3.0;
        }
        genome.logvar[5] = f32::MIN_POSITIVE;
        let msg = AncestorMsg {
            to: 3,
            parent: 17,
            genome: genome.clone(),
            latent: Latent {
                layers: 2,
                width: 2,
                data: vec![0.1, -2.5e-7, 1.0 / 3.0, 7.0],
            },
        };
        let back: AncestorMsg = bincode::deserialize(&bincode::serialize(&msg).unwrap()).unwrap();
        assert_eq!((back.to, back.parent), (3, 17));
        assert_eq!(back.genome, genome);
        assert_eq!(back.latent, msg.latent);

        let blend = RegionOrigin::Blend {
            father: 0.1,
            pool: 0.47,
            mother: 1.0 - 0.1 - 0.47,
        };
        let mut sent = [RegionOrigin::Pool; REGION_COUNT];
        sent[0] = RegionOrigin::Father;
        sent[1] = RegionOrigin::Mother;
        sent[7] = blend;
        let person = LeaderMsg::Person {
            node: 4,
            generation: 1,
            position: 2,
            origins: Some(sent),
            pool_keys: vec!["20-29-female-White".into()],
            warning: Some("w".into()),
        };
        let back: LeaderMsg = bincode::deserialize(&bincode::serialize(&person).unwrap()).unwrap();
        let LeaderMsg::Person { origins, .. } = back else {
            panic!("a person message came back as another kind")
        };
        assert_eq!(origins, Some(sent));

        // A short list is refused with a message, not taken as a person.
        #[derive(Serialize)]
        struct Short(#[serde(with = "origins")] Option<[RegionOrigin; REGION_COUNT]>);
        let mut bytes = bincode::serialize(&Short(Some(sent))).unwrap();
        bytes[1] = 3; // the list's length (a little-endian u64 after the Some tag)
        let err = bincode::deserialize::<ShortBack>(&bytes[..1 + 8 + 3 * 13])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("sent 3 region origins, expected 34"), "{err}");
    }

    #[derive(Deserialize)]
    struct ShortBack(
        #[allow(dead_code)]
        #[serde(with = "origins")]
        Option<[RegionOrigin; REGION_COUNT]>,
    );
}
