//! EXIF orientation.
//!
//! Requests speak in displayed pixels ("400 wide" means 400 wide as a viewer shows it),
//! so the pipeline turns the decoded image upright right after decoding, and the output
//! carries no EXIF (it is stripped like all metadata), so viewers cannot rotate it twice.
//! Orientation is applied after JPEG shrink-on-load, when the image is already small.

use crate::pixels::Pixels;

/// Whether an EXIF orientation swaps width and height (5..=8: the transposing ones).
pub fn swaps_axes(orientation: u8) -> bool {
    matches!(orientation, 5..=8)
}

/// Display size of a stored `width` x `height` image.
pub fn display_size(width: u32, height: u32, orientation: u8) -> (u32, u32) {
    if swaps_axes(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

/// The stored pixel that shows at display position (`x`, `y`), for a stored image of
/// `w` x `h`. Values outside 1..=8 are treated as 1 (EXIF says unknown means none).
pub fn source_of(orientation: u8, x: u32, y: u32, w: u32, h: u32) -> (u32, u32) {
    match orientation {
        2 => (w - 1 - x, y),         // mirror horizontally
        3 => (w - 1 - x, h - 1 - y), // rotate 180
        4 => (x, h - 1 - y),         // mirror vertically
        5 => (y, x),                 // transpose
        6 => (y, h - 1 - x),         // rotate 90 clockwise
        7 => (w - 1 - y, h - 1 - x), // transverse
        8 => (w - 1 - y, x),         // rotate 270 clockwise
        _ => (x, y),
    }
}

/// Returns the image as it should be displayed.
pub fn apply(p: Pixels, orientation: u8) -> Pixels {
    if !(2..=8).contains(&orientation) || p.width == 0 || p.height == 0 {
        return p;
    }
    let (w, h) = (p.width, p.height);
    let (dw, dh) = display_size(w, h, orientation);
    let n = p.layout.channels();
    let mut out = vec![0u8; p.data.len()];
    let row = w as usize * n;
    for (y, dst_row) in out.chunks_exact_mut(dw as usize * n).enumerate() {
        for (x, dst) in dst_row.chunks_exact_mut(n).enumerate() {
            let (sx, sy) = source_of(orientation, x as u32, y as u32, w, h);
            let at = sy as usize * row + sx as usize * n;
            dst.copy_from_slice(&p.data[at..at + n]);
        }
    }
    Pixels {
        width: dw,
        height: dh,
        layout: p.layout,
        data: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pixels::Layout;

    /// Stored 3x2:   a b c
    ///               d e f
    fn sample() -> Pixels {
        Pixels::new(3, 2, Layout::Gray, b"abcdef".to_vec()).unwrap()
    }

    fn show(p: &Pixels) -> (u32, u32, String) {
        (
            p.width,
            p.height,
            String::from_utf8(p.data.clone()).unwrap(),
        )
    }

    #[test]
    fn all_eight() {
        let cases = [
            (1, (3, 2, "abcdef")),
            (2, (3, 2, "cbafed")),
            (3, (3, 2, "fedcba")),
            (4, (3, 2, "defabc")),
            (5, (2, 3, "adbecf")),
            // 6: rotate 90 clockwise: the left column (a,d) becomes the top row, read
            // bottom-up: d a / e b / f c.
            (6, (2, 3, "daebfc")),
            (7, (2, 3, "fcebda")),
            (8, (2, 3, "cfbead")),
        ];
        for (o, (w, h, s)) in cases {
            assert_eq!(
                show(&apply(sample(), o)),
                (w, h, s.to_string()),
                "orientation {o}"
            );
        }
        // Unknown values are ignored.
        assert_eq!(show(&apply(sample(), 0)).2, "abcdef");
        assert_eq!(show(&apply(sample(), 9)).2, "abcdef");
    }

    #[test]
    fn multi_channel_and_sizes() {
        let p = Pixels::new(2, 1, Layout::Rgb, vec![1, 2, 3, 4, 5, 6]).unwrap();
        let r = apply(p, 6);
        assert_eq!((r.width, r.height), (1, 2));
        assert_eq!(r.data, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(display_size(3088, 2048, 6), (2048, 3088));
        assert_eq!(display_size(3088, 2048, 3), (3088, 2048));
    }
}
