//! The breakdown's words written straight into their string. `format!` with `{:.2}` took
//! most of a breakdown's time in a trust read: the exact float printer, and the string
//! regrown as it went. These print the same text as `{:.2}` and `{}`; a number the short
//! paths cannot print exactly goes to the general printer.

use std::fmt::Write;

/// Appends `n` in decimal.
pub(crate) fn push_u64(out: &mut String, n: u64) {
    out.push_str(itoa::Buffer::new().format(n));
}

/// Appends `x` as `format!("{x:.2}")` would. `{:.2}` rounds the exact binary value, ties
/// to even. `x × 100` is within a few ulps of that exact value, so rounding it gives the
/// same digits unless it lies near a tie (`k + 0.5`): those, negative numbers, large ones,
/// NaN and the infinities go to the general printer.
pub(crate) fn push_fixed2(out: &mut String, x: f64) {
    let hundredths = x * 100.0;
    if x.is_sign_positive() && hundredths < 1e8 {
        let off_tie = (hundredths - hundredths.floor() - 0.5).abs();
        if off_tie > 1e-6 {
            // Non-negative and below 1e8, so the cast is exact.
            let n = hundredths.round() as u64;
            push_u64(out, n / 100);
            out.push('.');
            let cents = (n % 100) as u8;
            out.push(char::from(b'0' + cents / 10));
            out.push(char::from(b'0' + cents % 10));
            return;
        }
    }
    let _ = write!(out, "{x:.2}");
}

/// Appends `x` as `format!("{x}")` would; a whole number below 2^53 without the general
/// printer.
pub(crate) fn push_f64(out: &mut String, x: f64) {
    if x.is_sign_positive() && x < 9_007_199_254_740_992.0 && x.fract() == 0.0 {
        // A whole non-negative number below 2^53: the cast is exact.
        push_u64(out, x as u64);
    } else {
        let _ = write!(out, "{x}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed2(x: f64) -> String {
        let mut s = String::new();
        push_fixed2(&mut s, x);
        s
    }

    fn shortest(x: f64) -> String {
        let mut s = String::new();
        push_f64(&mut s, x);
        s
    }

    /// Numbers spread over many magnitudes, from a fixed-seed generator (xorshift).
    fn spread() -> impl Iterator<Item = f64> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        (0..400_000).map(move |i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let unit = (state >> 11) as f64 / (1u64 << 53) as f64;
            // 1e-4 .. 1e9, and a quarter of them on or beside a hundredth or a tie.
            let x = unit * 10f64.powi(i % 14 - 4);
            match i % 4 {
                0 => (x * 100.0).round() / 100.0,
                1 => ((x * 100.0).floor() + 0.5) / 100.0,
                2 => f64::from_bits(((x * 200.0).round() / 200.0).to_bits() + (i % 3) as u64),
                _ => x,
            }
        })
    }

    #[test]
    fn two_places_print_what_the_general_printer_prints() {
        let edges = [
            0.0,
            -0.0,
            0.005,
            0.015,
            0.025,
            0.125,
            0.145,
            0.375,
            0.5,
            0.625,
            0.995,
            1.005,
            2.675,
            3.0,
            4.5,
            0.6,
            0.2308,
            99.995,
            1e8 / 100.0 - 0.005,
            999_999.994,
            999_999.995,
            1e6,
            1e7,
            1e300,
            -1.234,
            -0.001,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
        ];
        for x in edges.into_iter().chain(spread()) {
            assert_eq!(fixed2(x), format!("{x:.2}"), "{x:e}");
        }
    }

    #[test]
    fn whole_numbers_print_what_the_general_printer_prints() {
        let edges = [
            0.0,
            -0.0,
            1.0,
            10.0,
            30.0,
            0.5,
            2.5,
            -3.0,
            1e15,
            9_007_199_254_740_991.0,
            9_007_199_254_740_992.0,
            1e300,
            f64::NAN,
            f64::INFINITY,
            f64::MIN_POSITIVE,
        ];
        for x in edges.into_iter().chain(spread()) {
            assert_eq!(shortest(x), format!("{x}"), "{x:e}");
        }
    }
}
