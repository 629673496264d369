//! PNG charts for the admin views, drawn with plotters into memory and encoded
//! with `png`. The font is compiled in (DejaVu Sans, licence in
//! `assets/fonts/`), so charts look the same on a minimal container with no
//! system fonts at all.

use std::sync::Once;

use chrono::NaiveDate;
use plotters::prelude::*;
use plotters::style::FontStyle;

/// Every chart is this size; Discord shows it at full width in an embed.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 450;

const FONT_FAMILY: &str = "sans-serif";
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// Discord's blurple, the bars' color.
const BAR: RGBColor = RGBColor(0x58, 0x65, 0xF2);
/// Fewest bar slots a chart has; fewer bars are centred among them.
const MIN_SLOTS: usize = 8;
const GRID: RGBColor = RGBColor(0xE3, 0xE5, 0xE8);

#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("drawing the chart failed: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG failed")]
    Encode(#[from] png::EncodingError),
}

fn draw_error(error: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(error.to_string())
}

/// Registers the embedded font once per process.
fn register_font() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT)
            .unwrap_or_else(|_| panic!("the embedded DejaVu Sans font is a valid TrueType font"));
    });
}

/// One bar: its label on the x axis and its height.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// Commands per UTC day as bars, one per day of `days` (already zero-filled).
pub fn daily_usage(title: &str, days: &[(NaiveDate, i64)]) -> Result<Vec<u8>, ChartError> {
    daily_chart(title, "commands", days)
}

/// One bar per UTC day of `days` (already zero-filled), the y axis named
/// `y_label`.
pub fn daily_chart(
    title: &str,
    y_label: &str,
    days: &[(NaiveDate, i64)],
) -> Result<Vec<u8>, ChartError> {
    // Fewer than ~15 labels stay readable at this width.
    let label_every = days.len().div_ceil(15).max(1);
    let bars: Vec<Bar> = days
        .iter()
        .enumerate()
        .map(|(index, (day, uses))| Bar {
            label: if index % label_every == 0 {
                day.format("%b %d").to_string()
            } else {
                String::new()
            },
            value: *uses as f64,
        })
        .collect();
    bar_chart(title, "day (UTC)", y_label, &bars, None)
}

/// A vertical bar chart. `max` fixes the y range (e.g. 100 for percentages);
/// otherwise it fits the tallest bar.
pub fn bar_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    bars: &[Bar],
    max: Option<f64>,
) -> Result<Vec<u8>, ChartError> {
    register_font();
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_error)?;
        let tallest = bars.iter().map(|bar| bar.value).fold(0.0, f64::max);
        let top = max.unwrap_or_else(|| nice_ceiling(tallest));
        // At least MIN_SLOTS slots, the bars centred in them, so one day or
        // one module is a bar, not a block filling the chart. A segmented
        // 0..n has n + 1 slots (plotters includes the end).
        let slots = bars.len().max(MIN_SLOTS) as u32;
        let offset = (slots - bars.len() as u32) / 2;
        let bar_at = |slot: u32| slot.checked_sub(offset).and_then(|i| bars.get(i as usize));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT_FAMILY, 22))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d((0u32..slots - 1).into_segmented(), 0.0..top)
            .map_err(draw_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            // Grid lines at the labelled values only: the finer lines in
            // between made the chart look ruled rather than readable.
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_desc(x_label)
            .y_desc(y_label)
            .x_labels((slots as usize).min(40))
            .x_label_formatter(&|value| match value {
                SegmentValue::CenterOf(slot) => bar_at(*slot)
                    .map(|bar| bar.label.clone())
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|value| compact_number(*value))
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()
            .map_err(draw_error)?;
        chart
            .draw_series(
                Histogram::vertical(&chart)
                    .style(BAR.filled())
                    .margin(2)
                    .data(
                        bars.iter()
                            .enumerate()
                            .map(|(index, bar)| (offset + index as u32, bar.value)),
                    ),
            )
            .map_err(draw_error)?;
        root.present().map_err(draw_error)?;
    }
    encode_png(&rgb)
}

fn encode_png(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Flat colors compress well even at the fast setting; it keeps the
    // whole chart within a few milliseconds.
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// A round upper bound for the y axis (1, 2, 5 × 10^n), at least 1.
fn nice_ceiling(value: f64) -> f64 {
    if value <= 1.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(10.0 * magnitude)
}

/// `1234567` → `1.2M`, so axis labels stay narrow.
fn compact_number(value: f64) -> String {
    let abs = value.abs();
    if abs >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if abs >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded_size(png_bytes: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let reader = decoder.read_info().expect("a valid PNG");
        let info = reader.info();
        (info.width, info.height)
    }

    #[test]
    fn daily_usage_is_a_png_of_the_chart_size() {
        let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
        let days: Vec<(NaiveDate, i64)> = (0..90)
            .map(|i| (start + chrono::Days::new(i), (i as i64 * 37) % 1000))
            .collect();
        let png_bytes = daily_usage("Commands, last 90 days", &days).unwrap();
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(decoded_size(&png_bytes), (WIDTH, HEIGHT));
    }

    #[test]
    fn an_empty_or_all_zero_chart_still_renders() {
        assert_eq!(
            decoded_size(&daily_usage("nothing", &[]).unwrap()),
            (WIDTH, HEIGHT)
        );
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            decoded_size(&daily_usage("zeros", &[(day, 0)]).unwrap()),
            (WIDTH, HEIGHT)
        );
    }

    /// Columns of the image in which the bar color appears.
    fn bar_columns(png_bytes: &[u8]) -> Vec<u32> {
        let decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
        let mut reader = decoder.read_info().expect("a valid PNG");
        let mut rgb = vec![0; reader.output_buffer_size().expect("buffer size")];
        reader.next_frame(&mut rgb).expect("one frame");
        let is_bar = |x: u32, y: u32| {
            let at = ((y * WIDTH + x) * 3) as usize;
            rgb[at..at + 3] == [BAR.0, BAR.1, BAR.2]
        };
        (0..WIDTH)
            .filter(|&x| (0..HEIGHT).any(|y| is_bar(x, y)))
            .collect()
    }

    fn full_bars(count: usize) -> Vec<Bar> {
        (0..count)
            .map(|i| Bar {
                label: format!("m{i}"),
                value: 100.0,
            })
            .collect()
    }

    #[test]
    fn bars_fill_the_plot_without_a_blank_slot_after_the_last() {
        let png_bytes = bar_chart("twelve", "module", "%", &full_bars(12), Some(100.0)).unwrap();
        let columns = bar_columns(&png_bytes);
        let (first, last) = (columns[0], columns[columns.len() - 1]);
        // The plot's right edge is the margin away from the image's; a blank
        // twelve-and-a-thirteenth slot would end the bars ~70 px earlier.
        assert!(
            WIDTH - last < 30,
            "bars end at x={last} of {WIDTH}: a blank slot trails them"
        );
        assert!(first < 120, "bars start at x={first}");
    }

    #[test]
    fn a_single_bar_is_a_centred_bar_not_a_block() {
        let png_bytes = bar_chart("one day", "day", "uses", &full_bars(1), None).unwrap();
        let columns = bar_columns(&png_bytes);
        let (first, last) = (columns[0], columns[columns.len() - 1]);
        assert!(
            last - first < WIDTH / 6,
            "one bar spans x={first}..{last} of {WIDTH}"
        );
        let middle = (first + last) / 2;
        assert!(
            middle.abs_diff(WIDTH / 2) < WIDTH / 10,
            "one bar is centred near x={middle}"
        );
    }

    #[test]
    fn axis_bounds_and_labels_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(130.0), 200.0);
        assert_eq!(nice_ceiling(4_900.0), 5_000.0);
        assert_eq!(compact_number(1_234_567.0), "1.2M");
        assert_eq!(compact_number(25_000.0), "25k");
        assert_eq!(compact_number(12.0), "12");
    }
}
