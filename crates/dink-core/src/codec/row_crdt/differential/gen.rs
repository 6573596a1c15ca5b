//! Generators: a seeded RNG and random row values, field names and writes.

use std::collections::BTreeMap;

use crate::value::{Fields, Value};

/// splitmix64: tiny, seedable, and good enough to drive test histories without a dependency.
/// Every random choice in a scenario comes from one of these, so a seed replays the scenario.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`0` when `n == 0`).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    /// Uniform in `lo..=hi`.
    pub(super) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub(super) fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub(super) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Field names the writers share. Few on purpose: concurrent writes to the same key are what
/// exercises conflict resolution and fills rows with overwritten (garbage-collected) values.
pub(super) const KEYS: [&str; 7] = ["title", "count", "done", "tags", "blob", "meta", "ñ😀"];

/// Field names the row layout refuses (Convex reserves `_` and `$`, and names are non-empty).
pub(super) const BAD_KEYS: [&str; 3] = ["_private", "$ref", ""];

pub(super) fn key(rng: &mut Rng) -> &'static str {
    rng.pick(&KEYS)
}

fn string(rng: &mut Rng) -> String {
    // Multi-byte UTF-8, astral-plane characters (two UTF-16 units in yjs), controls, quotes and
    // an occasional long run, so both length-prefix and content paths are covered.
    const PIECES: [&str; 12] = [
        "a",
        "hello",
        "é",
        "中文",
        "😀",
        "👩‍👩‍👧",
        "𝄞",
        " ",
        "\"\\{[",
        "\u{0}",
        "\n",
        "ß",
    ];
    let mut s = String::new();
    for _ in 0..rng.below(5) {
        s.push_str(rng.pick(&PIECES));
    }
    if rng.chance(3) {
        s.push_str(&"long text ".repeat(rng.range(10, 60)));
    }
    s
}

fn number(rng: &mut Rng) -> f64 {
    match rng.below(8) {
        // Small integers, both signs: yrs writes them as varints.
        0 => rng.below(2001) as f64 - 1000.0,
        // Fractions exactly representable as f32 (yrs writes float32) and not (float64).
        1 => rng.below(4000) as f64 / 8.0 - 250.0,
        2 => (rng.next() >> 11) as f64 / (1u64 << 40) as f64 - 4096.0,
        // Integral but beyond 2^31 (lib0 switches to floats there, yrs at 2^53) and beyond 2^53.
        3 => rng.pick(&[
            2_147_483_648.0,
            -2_147_483_649.0,
            9_007_199_254_740_991.0,
            -9_007_199_254_740_992.0,
            1e21,
            -1e300,
            f64::MAX,
        ]),
        // Tiny and subnormal.
        4 => rng.pick(&[1e-300, f64::MIN_POSITIVE, 5e-324, -2.5e-310]),
        // Negative zero (stored as 0 by yrs) and the non-finite values Convex allows.
        5 => rng.pick(&[-0.0, 0.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        _ => (rng.next() as i64 as f64) / 3.0e9,
    }
}

/// A random Convex value nesting at most `depth` levels (arrays and objects), every kind the
/// row layout may hold, bytes included at any level.
pub(super) fn value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth == 0 { 8 } else { 10 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Boolean(rng.chance(50)),
        2 | 3 => Value::Float64(number(rng)),
        4 => Value::Int64(match rng.below(3) {
            0 => rng.pick(&[0, -1, 1, i64::MIN, i64::MAX, 1 << 53]),
            1 => rng.below(1000) as i64 - 500,
            _ => rng.next() as i64,
        }),
        5 | 6 => Value::String(string(rng)),
        7 => Value::Bytes((0..rng.below(9)).map(|_| rng.next() as u8).collect()),
        8 => Value::Array((0..rng.below(4)).map(|_| value(rng, depth - 1)).collect()),
        _ => Value::Object(
            (0..rng.below(5))
                .map(|_| {
                    let key = if rng.chance(50) {
                        rng.pick(&["a", "b", "zz", "ключ", "😀", "_x", ""])
                            .to_string()
                    } else {
                        string(rng)
                    };
                    (key, value(rng, depth - 1))
                })
                .collect::<BTreeMap<_, _>>(),
        ),
    }
}

/// A Convex-side write: `current` with a few keys set or removed (the id kept), or, rarely,
/// a write `change` must refuse (a reserved field name, a different id).
pub(super) fn server_write(rng: &mut Rng, current: &Fields, doc_id: &str) -> Fields {
    let mut new = current.clone();
    for _ in 0..rng.range(1, 3) {
        let key = key(rng);
        if rng.chance(25) {
            new.remove(key);
        } else {
            new.insert(key.to_string(), value(rng, 3));
        }
    }
    new.insert("id".to_string(), Value::String(doc_id.to_string()));
    if rng.chance(4) {
        match rng.below(3) {
            0 => {
                new.insert(rng.pick(&BAD_KEYS).to_string(), Value::Null);
            }
            1 => {
                new.insert("id".to_string(), Value::String("another-row".into()));
            }
            _ => {
                new.remove("id");
            }
        }
    }
    new
}
