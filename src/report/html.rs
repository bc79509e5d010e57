//! `report.html`: the Markdown report rendered to HTML with the charts inline as SVG, one
//! self-contained file that needs no network and no other file.

use pulldown_cmark::{Options, Parser, html};

/// Markdown to HTML, with tables.
fn to_html(markdown: &str) -> String {
    let mut out = String::new();
    html::push_html(&mut out, Parser::new_ext(markdown, Options::ENABLE_TABLES));
    out
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; max-width: 1240px;
       margin: 2em auto; padding: 0 1em; color: #1f2328; line-height: 1.45; }
h1 { border-bottom: 2px solid #1f77b4; padding-bottom: .2em; }
h2 { margin-top: 1.8em; border-bottom: 1px solid #d0d7de; padding-bottom: .2em; }
table { border-collapse: collapse; margin: .8em 0; font-size: 0.92em; }
th, td { border: 1px solid #d0d7de; padding: .3em .6em; }
th { background: #f6f8fa; }
tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 1.2em 0; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eaeef2; }
figcaption { color: #57606a; font-size: .9em; }
code { background: #f6f8fa; padding: 0 .2em; }
";

/// One chart of a report page: its file stem under `charts/`, its title and its SVG text.
#[derive(Clone, Debug)]
pub struct Figure {
    /// File stem under `charts/`.
    pub stem: &'static str,
    /// Caption.
    pub title: &'static str,
    /// The SVG document.
    pub svg: String,
}

/// The report page: the Markdown report with its chart list replaced by the charts.
pub fn report_html(title: &str, markdown: &str, charts: &[Figure]) -> String {
    let (before, rest) = markdown.split_once("## Charts\n").unwrap_or((markdown, ""));
    let after = rest.split_once("\n## ").map_or("", |(_, tail)| tail);
    let mut figures = String::from("<h2>Charts</h2>\n");
    for figure in charts {
        figures.push_str(&format!(
            "<figure id=\"{}\">\n{}\n<figcaption>{} (<code>charts/{}.svg</code>, \
             <code>charts/{}.png</code>)</figcaption>\n</figure>\n",
            figure.stem,
            figure.svg.trim(),
            escape(figure.title),
            figure.stem,
            figure.stem
        ));
    }
    let after = if after.is_empty() {
        String::new()
    } else {
        to_html(&format!("## {after}"))
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta \
         name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n{}{figures}{after}</body>\n</html>\n",
        escape(title),
        to_html(before)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_replace_their_list_and_markdown_becomes_html() {
        let markdown = "# T\n\nSome **bold** text.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n\
                        ## Charts\n\n- cost: `charts/cost.svg`\n\n## Run 0 in detail\n\nmore\n";
        let page = report_html(
            "fleetsim: t",
            markdown,
            &[Figure {
                stem: "cost",
                title: "Cost",
                svg: "<svg><text>cost</text></svg>".into(),
            }],
        );
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("<strong>bold</strong>"));
        assert!(page.contains("<table>"));
        assert!(page.contains("<figure id=\"cost\">\n<svg><text>cost</text></svg>"));
        assert!(page.contains("<h2>Run 0 in detail</h2>"));
        assert!(!page.contains("- cost: "), "the chart list is replaced");
        assert!(!page.contains("http"), "nothing is fetched");
    }
}
