//! Qalqan's briefing documents: a [`Document`] (title page, metadata, sections of paragraphs,
//! key figures, tables and vector figures) rendered as **PDF** by Typst (`typst`, `typst-pdf`)
//! with DejaVu Sans embedded — it covers Russian and every Kazakh letter (ә ғ қ ң ө ұ ү һ і) — and
//! as **HTML** (one self-contained file, figures inline as SVG). [`svg`] draws maps and charts
//! from Qalqan's own layers: no tile servers, no raster images.
//!
//! Rendering is deterministic: the same document gives the same bytes (the PDF's date and
//! identifier come from the document, not the clock).

pub mod svg;
mod world;

use std::fmt::Write as _;

/// Why a document could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("typesetting failed: {0}")]
    Typeset(String),
    #[error("the embedded fonts could not be read: {0}")]
    Fonts(String),
}

/// The document's language (for hyphenation, quotes and the HTML `lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ru,
    Kk,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::Kk => "kk",
            Lang::En => "en",
        }
    }
}

/// A briefing document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub lang: Lang,
    /// Who issues it (printed above the title).
    pub issuer: String,
    pub title: String,
    pub subtitle: String,
    /// Printed on the title page: (label, value).
    pub meta: Vec<(String, String)>,
    /// The date printed and stored as the PDF's creation date, `YYYY-MM-DD`.
    pub date: (i32, u8, u8),
    /// Page footer text (left); the page number is on the right.
    pub footer: String,
    pub sections: Vec<Section>,
}

/// A numbered section.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    pub title: String,
    pub blocks: Vec<Block>,
}

/// A piece of a section.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Paragraph(String),
    /// Small print (sources, method notes).
    Note(String),
    /// Large numbers with labels, in a row of boxes.
    KeyFigures(Vec<(String, String)>),
    Table(Table),
    /// An SVG drawing with a caption; `width` is the share of the text width (0–1].
    Figure {
        svg: String,
        caption: String,
        width: f64,
    },
}

/// A table; cells are plain text.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<String>,
    /// Per column: right-aligned (numbers) or not.
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Rows to highlight (e.g. overdue), by index.
    pub highlight: Vec<usize>,
}

impl Document {
    /// Every character of the document's text (to check the fonts cover them).
    pub fn text(&self) -> String {
        let mut s = format!("{}{}{}{}", self.issuer, self.title, self.subtitle, self.footer);
        for (a, b) in &self.meta {
            s.push_str(a);
            s.push_str(b);
        }
        for sec in &self.sections {
            s.push_str(&sec.title);
            for b in &sec.blocks {
                match b {
                    Block::Paragraph(t) | Block::Note(t) => s.push_str(t),
                    Block::KeyFigures(v) => v.iter().for_each(|(a, b)| {
                        s.push_str(a);
                        s.push_str(b);
                    }),
                    Block::Table(t) => {
                        t.columns.iter().for_each(|c| s.push_str(c));
                        t.rows.iter().flatten().for_each(|c| s.push_str(c));
                    }
                    Block::Figure { caption, .. } => s.push_str(caption),
                }
            }
        }
        s
    }
}

/// A Typst string literal.
fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The document as Typst markup, with the figures it refers to (`fig-N.svg`).
pub fn typst_source(doc: &Document) -> (String, Vec<(String, Vec<u8>)>) {
    let mut m = String::new();
    let mut files = Vec::new();
    let lang = doc.lang.code();
    let _ = writeln!(
        m,
        r##"#set document(title: {title}, date: datetime(year: {y}, month: {mo}, day: {d}))
#set text(font: "DejaVu Sans", size: 9.5pt, lang: "{lang}", hyphenate: false)
#set par(justify: false, leading: 0.6em)
#set page(paper: "a4", margin: (x: 1.8cm, top: 1.8cm, bottom: 2cm),
  footer: context [#set text(7.5pt, fill: luma(90)); #text({footer}) #h(1fr) #counter(page).display()])
#set heading(numbering: "1.")
#show heading.where(level: 1): it => block(above: 1.4em, below: 0.8em, text(13pt, weight: "bold", fill: rgb("#1b3a5c"), it))
#set table(stroke: 0.4pt + luma(180), inset: (x: 4pt, y: 3pt))
#show table.cell.where(y: 0): set text(weight: "bold", size: 8.5pt)
"##,
        title = lit(&doc.title),
        y = doc.date.0,
        mo = doc.date.1,
        d = doc.date.2,
        footer = lit(&doc.footer),
    );
    // Title page.
    let _ = writeln!(
        m,
        r##"#page(footer: none)[
#v(2.5cm)
#text(11pt, fill: luma(70), {issuer})
#v(0.8cm)
#text(22pt, weight: "bold", fill: rgb("#1b3a5c"), {title})
#v(0.3cm)
#text(13pt, {subtitle})
#v(1.2cm)
#table(columns: (auto, 1fr), stroke: none, column-gutter: 14pt, inset: (x: 0pt, y: 4pt),
{meta})
]"##,
        issuer = lit(&doc.issuer),
        title = lit(&doc.title),
        subtitle = lit(&doc.subtitle),
        meta =
            doc.meta.iter().map(|(a, b)| format!("  text(fill: luma(90), {}), text({}),", lit(a), lit(b))).collect::<Vec<_>>().join("\n"),
    );
    for sec in &doc.sections {
        let _ = writeln!(m, "#heading(level: 1, {})", lit(&sec.title));
        for b in &sec.blocks {
            match b {
                Block::Paragraph(t) => {
                    let _ = writeln!(m, "#par(text({}))\n", lit(t));
                }
                Block::Note(t) => {
                    let _ = writeln!(m, "#par(text(7.5pt, fill: luma(90), {}))\n", lit(t));
                }
                Block::KeyFigures(v) => {
                    let cells: Vec<String> = v
                        .iter()
                        .map(|(label, value)| {
                            let size = if value.chars().count() > 14 { "10.5pt" } else { "15pt" };
                            format!(
                                "block(fill: luma(245), inset: 6pt, radius: 3pt, width: 100%)[#text({size}, weight: \"bold\", fill: rgb(\"#1b3a5c\"), {}) \\ #text(7.5pt, fill: luma(80), {})]",
                                lit(value),
                                lit(label)
                            )
                        })
                        .collect();
                    let _ =
                        writeln!(m, "#grid(columns: ({}), gutter: 6pt, {})\n", vec!["1fr"; v.len().max(1)].join(", "), cells.join(", "));
                }
                Block::Table(t) => {
                    let align: Vec<&str> = t.numeric.iter().map(|&n| if n { "right" } else { "left" }).collect();
                    let mut cells = Vec::new();
                    for c in &t.columns {
                        cells.push(format!("table.cell(fill: luma(235), text({}))", lit(c)));
                    }
                    for (i, row) in t.rows.iter().enumerate() {
                        for c in row {
                            if t.highlight.contains(&i) {
                                cells.push(format!("table.cell(fill: rgb(\"#fdecea\"), text({}))", lit(c)));
                            } else {
                                cells.push(format!("text({})", lit(c)));
                            }
                        }
                    }
                    let _ = writeln!(
                        m,
                        "#block(breakable: true, text(8pt, table(columns: {}, align: ({}), {})))\n",
                        t.columns.len(),
                        align.join(", "),
                        cells.join(", ")
                    );
                }
                Block::Figure { svg, caption, width } => {
                    let name = format!("fig-{}.svg", files.len() + 1);
                    files.push((name.clone(), svg.as_bytes().to_vec()));
                    let _ = writeln!(
                        m,
                        "#figure(image({}, width: {}%), caption: text(8pt, {}), supplement: none, numbering: none)\n",
                        lit(&format!("/{name}")),
                        (width.clamp(0.05, 1.0) * 100.0).round(),
                        lit(caption)
                    );
                }
            }
        }
    }
    (m, files)
}

/// The document as PDF (A4, fonts embedded and subset).
pub fn pdf(doc: &Document) -> Result<Vec<u8>, ReportError> {
    let (source, files) = typst_source(doc);
    let world = world::MemoryWorld::new(source, files, doc.date)?;
    let warned = typst::compile::<typst_layout::PagedDocument>(&world);
    let paged = warned
        .output
        .map_err(|errors| ReportError::Typeset(errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ")))?;
    let options = typst_pdf::PdfOptions {
        ident: typst::foundations::Smart::Custom(format!("qalqan:{}:{}", doc.title, doc.lang.code())),
        creator: typst::foundations::Smart::Custom(Some(format!("Qalqan {}", env!("CARGO_PKG_VERSION")))),
        timestamp: typst::foundations::Datetime::from_ymd(doc.date.0, doc.date.1, doc.date.2).map(typst_pdf::Timestamp::new_utc),
        ..typst_pdf::PdfOptions::default()
    };
    typst_pdf::pdf(&paged, &options)
        .map_err(|errors| ReportError::Typeset(errors.iter().map(|e| e.message.to_string()).collect::<Vec<_>>().join("; ")))
}

/// Characters of `text` the embedded fonts have no glyph for (none for Russian and Kazakh).
pub fn missing_glyphs(text: &str) -> Result<Vec<char>, ReportError> {
    let fonts = world::fonts()?;
    let mut missing: Vec<char> = text
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .filter(|&c| !fonts.iter().all(|f| f.info().coverage.contains(c as u32)))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    Ok(missing)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The document as one self-contained HTML page (styles inline, figures as inline SVG).
pub fn html(doc: &Document) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
<style>body{{font-family:'DejaVu Sans',Arial,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d2733;font-size:15px;line-height:1.45}}\
h1{{color:#1b3a5c;font-size:1.8rem;margin:.3rem 0}}h2{{color:#1b3a5c;font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d5dbe3;padding-bottom:.2rem}}\
.issuer{{color:#555}}.subtitle{{font-size:1.15rem}}table{{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}}td,th{{border:1px solid #c9d0d8;padding:.2rem .45rem}}\
th{{background:#eef1f4;text-align:left}}td.n{{text-align:right;font-variant-numeric:tabular-nums}}tr.hl td{{background:#fdecea}}\
.figs{{display:flex;gap:.6rem;flex-wrap:wrap}}.fig{{background:#f4f6f8;border-radius:4px;padding:.5rem .8rem;min-width:8rem}}.fig b{{display:block;font-size:1.4rem;color:#1b3a5c}}\
.fig span{{font-size:.75rem;color:#555}}figure{{margin:1rem 0}}figure svg{{max-width:100%;height:auto}}figcaption{{font-size:.8rem;color:#444}}.note{{font-size:.78rem;color:#555}}\
.meta td{{border:none;padding:.1rem .8rem .1rem 0}}</style></head><body>\n",
        doc.lang.code(),
        esc(&doc.title)
    );
    let _ = writeln!(
        h,
        "<p class=\"issuer\">{}</p><h1>{}</h1><p class=\"subtitle\">{}</p>",
        esc(&doc.issuer),
        esc(&doc.title),
        esc(&doc.subtitle)
    );
    h.push_str("<table class=\"meta\">");
    for (a, b) in &doc.meta {
        let _ = write!(h, "<tr><td>{}</td><td>{}</td></tr>", esc(a), esc(b));
    }
    h.push_str("</table>\n");
    for (n, sec) in doc.sections.iter().enumerate() {
        let _ = writeln!(h, "<h2>{}. {}</h2>", n + 1, esc(&sec.title));
        for b in &sec.blocks {
            match b {
                Block::Paragraph(t) => {
                    let _ = writeln!(h, "<p>{}</p>", esc(t));
                }
                Block::Note(t) => {
                    let _ = writeln!(h, "<p class=\"note\">{}</p>", esc(t));
                }
                Block::KeyFigures(v) => {
                    h.push_str("<div class=\"figs\">");
                    for (label, value) in v {
                        let _ = write!(h, "<div class=\"fig\"><b>{}</b><span>{}</span></div>", esc(value), esc(label));
                    }
                    h.push_str("</div>\n");
                }
                Block::Table(t) => {
                    h.push_str("<table><thead><tr>");
                    for c in &t.columns {
                        let _ = write!(h, "<th>{}</th>", esc(c));
                    }
                    h.push_str("</tr></thead><tbody>");
                    for (i, row) in t.rows.iter().enumerate() {
                        let _ = write!(h, "<tr{}>", if t.highlight.contains(&i) { " class=\"hl\"" } else { "" });
                        for (j, c) in row.iter().enumerate() {
                            let class = if t.numeric.get(j).copied().unwrap_or(false) { " class=\"n\"" } else { "" };
                            let _ = write!(h, "<td{class}>{}</td>", esc(c));
                        }
                        h.push_str("</tr>");
                    }
                    h.push_str("</tbody></table>\n");
                }
                Block::Figure { svg, caption, .. } => {
                    let _ = writeln!(h, "<figure>{svg}<figcaption>{}</figcaption></figure>", esc(caption));
                }
            }
        }
    }
    let _ = writeln!(h, "<p class=\"note\">{}</p></body></html>", esc(&doc.footer));
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(lang: Lang) -> Document {
        Document {
            lang,
            issuer: "Координационный совет · Үйлестіру кеңесі".into(),
            title: "Сводка \"для совета\" — қылмыс жағдайы".into(),
            subtitle: "Астана, 2021".into(),
            meta: vec![("Период".into(), "01.01.2021 — 31.12.2021".into())],
            date: (2026, 12, 5),
            footer: "Qalqan 0.1.0 · snapshot abc".into(),
            sections: vec![Section {
                title: "Ә ғ қ ң ө ұ ү һ і".into(),
                blocks: vec![
                    Block::Paragraph("Текст с #решёткой, $долларом$, [скобками] и \\обратной чертой.".into()),
                    Block::KeyFigures(vec![("Всего".into(), "1 234".into()), ("Просрочено".into(), "5".into())]),
                    Block::Table(Table {
                        columns: vec!["Агентство".into(), "Просрочено".into()],
                        numeric: vec![false, true],
                        rows: vec![vec!["Акимат".into(), "3".into()], vec!["ДП".into(), "2".into()]],
                        highlight: vec![0],
                    }),
                    Block::Figure {
                        svg: svg::bar_chart(&[("a".into(), 3.0), ("ә".into(), 5.0)], 300.0, 120.0),
                        caption: "Диаграмма".into(),
                        width: 0.6,
                    },
                    Block::Note("Источник: Qalqan".into()),
                ],
            }],
        }
    }

    #[test]
    fn a_document_becomes_a_pdf_with_its_fonts_embedded_and_the_same_bytes_each_time() {
        let doc = sample(Lang::Kk);
        let a = pdf(&doc).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("DejaVuSans"), "the font is embedded");
        assert!(text.contains("/FontFile2") || text.contains("/FontFile3"), "as a font program");
        assert_eq!(a, pdf(&doc).unwrap(), "deterministic");
    }

    #[test]
    fn russian_and_kazakh_letters_are_all_covered() {
        let doc = sample(Lang::Ru);
        assert_eq!(missing_glyphs(&doc.text()).unwrap(), Vec::<char>::new());
        assert_eq!(missing_glyphs("abc 漢").unwrap(), vec!['漢']);
    }

    #[test]
    fn html_escapes_text_and_keeps_the_figures_inline() {
        let h = html(&sample(Lang::En));
        assert!(h.starts_with("<!doctype html>") && h.contains("lang=\"en\""));
        assert!(h.contains("Сводка &quot;для совета&quot;"));
        assert!(h.contains("<svg") && h.contains("<tr class=\"hl\">"));
    }

    #[test]
    fn markup_characters_in_text_cannot_break_out_of_strings() {
        assert_eq!(lit("a \"b\" \\ #c"), "\"a \\\"b\\\" \\\\ #c\"");
    }
}
