//! Chart geometry for the server-rendered SVG charts (bars and trend lines). Each chart is
//! drawn next to a table of the same figures, so the numbers stay accessible as text.

/// One bar: label, value and length in percent of the largest.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub width: u32,
    /// CSS class (e.g. the severity).
    pub class: String,
}

/// Bars scaled to the largest value.
pub fn bars(items: Vec<(String, i64, String)>) -> Vec<Bar> {
    let max = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
    items
        .into_iter()
        .map(|(label, value, class)| Bar {
            width: ((value * 100) / max).clamp(0, 100) as u32,
            label,
            value,
            class,
        })
        .collect()
}

/// SVG polyline points for `values` in a `w` × `h` box (y grows downwards).
pub fn line(values: &[i64], w: u32, h: u32) -> String {
    let max = values.iter().copied().max().unwrap_or(0).max(1) as f64;
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = if n <= 1 {
                w as f64 / 2.0
            } else {
                i as f64 * w as f64 / (n - 1) as f64
            };
            let y = h as f64 - (*v as f64 / max) * (h as f64 - 4.0) - 2.0;
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_lines_fit_the_box() {
        let b = bars(vec![
            ("a".into(), 5, "x".into()),
            ("b".into(), 10, "y".into()),
        ]);
        assert_eq!((b[0].width, b[1].width), (50, 100));
        assert_eq!(line(&[0, 10], 100, 50), "0.0,48.0 100.0,2.0");
        assert_eq!(line(&[3], 100, 50), "50.0,2.0");
    }
}
