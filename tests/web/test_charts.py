"""The SVG charts: accessible names, values as text, escaping, gaps, empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from supplytrack.web.charts import bar_chart, format_value, line_chart, stacked_bars

SVG = "{http://www.w3.org/2000/svg}"


def parsed(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    root = ET.fromstring(str(svg))
    assert root.tag == SVG + "svg"
    assert root.get("role") == "img"
    assert root.get("class") == "chart"
    assert root.get("viewBox", "").startswith("0 0 ")
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title[@id='{title_id}']") is not None
    assert root.find(f"{SVG}desc[@id='{desc_id}']") is not None
    assert "style=" not in str(svg)
    return root


def texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(SVG + "text")]


def titles(root: ET.Element) -> list[str]:
    return [node.text or "" for node in root.iter(SVG + "title")]


def description(root: ET.Element) -> str:
    node = root.find(SVG + "desc")
    assert node is not None
    return node.text or ""


def test_bar_chart_writes_each_label_and_value_as_text() -> None:
    root = parsed(bar_chart("Overdue", [("P-1", 3), ("P-2", 12.5), ("P-3", 0)], unit="days"))
    shown = texts(root)
    assert shown == ["P-1", "3 days", "P-2", "12.5 days", "P-3", "0 days"]
    assert titles(root)[0] == "Overdue"
    assert "P-2: 12.5 days" in description(root)
    bars = [float(rect.get("width", "0")) for rect in root.iter(SVG + "rect")]
    assert bars[1] > bars[0] > bars[2] == 0


def test_bar_chart_escapes_a_hostile_label() -> None:
    hostile = '<script>alert("x")</script>&'
    svg = bar_chart(hostile, [(hostile, 1)], description=hostile)
    assert "<script>" not in str(svg)
    root = parsed(svg)
    assert titles(root)[0] == hostile
    assert description(root) == hostile
    assert any(text.startswith("<script>") for text in texts(root))


def test_control_characters_are_dropped_so_the_svg_stays_xml() -> None:
    root = parsed(bar_chart("a\x00b", [("c\x07d", 1)]))
    assert titles(root)[0] == "ab"


def test_empty_data_is_a_small_svg_saying_no_data() -> None:
    for svg in (
        bar_chart("Nothing", []),
        stacked_bars("Nothing", [], series=["Done"]),
        stacked_bars("Zeros", [("P", [("Done", 0)])], series=["Done"]),
        line_chart("Nothing", []),
        line_chart("Gaps only", [("Jan", None), ("Feb", None)]),
    ):
        root = parsed(svg)
        assert texts(root) == ["No data"]
        assert "No data" in description(root)


def test_each_chart_has_its_own_ids() -> None:
    first, second = bar_chart("A", [("x", 1)]), bar_chart("A", [("x", 1)])
    assert parsed(first).get("aria-labelledby") != parsed(second).get("aria-labelledby")


def test_stacked_bars_have_a_legend_patterns_and_each_row_in_words() -> None:
    series = ["Done", "Open", "Late"]
    rows = [("P-1", [("Done", 3), ("Open", 2), ("Late", 0)]), ("P-2", [("Late", 5)])]
    root = parsed(stacked_bars("Instances by status", rows, series=series))
    shown = texts(root)
    assert shown[:3] == series  # the legend
    assert "Done 3 \u00b7 Open 2" in shown
    assert "Late 5" in shown
    patterns = [node.get("id", "") for node in root.iter(SVG + "pattern")]
    assert len(patterns) == 3
    assert len(set(patterns)) == 3
    segments = [rect for rect in root.iter(SVG + "rect") if rect.find(SVG + "title") is not None]
    assert [rect.findtext(SVG + "title") for rect in segments] == [
        "P-1, Done: 3",
        "P-1, Open: 2",
        "P-2, Late: 5",
    ]
    assert all(rect.get("fill", "").startswith("url(#") for rect in segments)
    assert "P-2: Late 5" in description(root)


def test_stacked_bars_escape_labels_and_series() -> None:
    svg = stacked_bars("t", [("<b>", [("<i>", 1)])], series=["<i>"])
    assert "<b>" not in str(svg)
    assert "<i>" not in str(svg)
    assert "<b>" in texts(parsed(svg))


def test_line_chart_marks_each_point_and_leaves_gaps_for_none() -> None:
    points = [("Jan", 50.0), ("Feb", None), ("Mar", 75.0), ("Apr", 100.0)]
    root = parsed(line_chart("On-time rate", points, unit="%", y_max=100))
    assert len(list(root.iter(SVG + "circle"))) == 3
    paths = [node.get("d", "") for node in root.iter(SVG + "path")]
    assert len(paths) == 1  # Jan stands alone; Mar-Apr is one run
    assert paths[0].count("L") == 1
    shown = texts(root)
    for value in ("50%", "75%", "100%", "Jan", "Feb", "Mar", "Apr"):
        assert value in shown
    point_titles = titles(root)
    assert "Jan: 50%" in point_titles
    assert "Feb: no value" in point_titles
    words = description(root)
    assert "Highest 100% (Apr)" in words
    assert "1 without a value" in words


def test_line_chart_escapes_labels() -> None:
    svg = line_chart("<t>", [("<script>", 1.0)])
    assert "<script>" not in str(svg)
    assert "<script>" in titles(parsed(svg))[1]


def test_format_value() -> None:
    assert format_value(3.0) == "3"
    assert format_value(87.456, "%") == "87.5%"
    assert format_value(2, "days") == "2 days"


def test_stacked_segments_follow_the_series_order_and_the_legend_wraps() -> None:
    series = [f"Status number {n}" for n in range(7)]
    rows = [("P", [(series[3], 1), (series[0], 2), ("not a series", 5)])]
    root = parsed(stacked_bars("t", rows, series=series))
    segments = [
        rect.findtext(SVG + "title")
        for rect in root.iter(SVG + "rect")
        if rect.find(SVG + "title") is not None
    ]
    assert segments == ["P, Status number 0: 2", "P, Status number 3: 1"]
    legend_rows = {
        rect.get("y") for rect in root.iter(SVG + "rect") if rect.find(SVG + "title") is None
    }
    assert len(legend_rows) > 1  # seven long names do not fit on one line
    width = float(root.get("viewBox", "").split()[2])
    for text in root.iter(SVG + "text"):
        assert float(text.get("x", "0")) < width
