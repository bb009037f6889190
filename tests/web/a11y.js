// What tests/web/test_every_page_browser.py asks of every page, run inside Chromium.
// Returns a list of problems (empty: the page passes).
() => {
  const problems = [];
  const text = (el) => (el.textContent || "").replace(/\s+/g, " ").trim();
  const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean);
  const nameOf = (el) => {
    if (el.getAttribute("aria-labelledby")) {
      return byIds(el.getAttribute("aria-labelledby")).map(text).join(" ").trim();
    }
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label").trim();
    if (el.labels && el.labels.length) return Array.from(el.labels).map(text).join(" ").trim();
    if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type)) return (el.value || "").trim();
    if (el.tagName === "BUTTON" || el.tagName === "A" || el.tagName === "SUMMARY") return text(el);
    return (el.getAttribute("title") || "").trim();
  };
  const describe = (el) => el.outerHTML.slice(0, 120);
  if (!document.documentElement.getAttribute("lang")) problems.push("html has no lang");
  if (!document.title.trim()) problems.push("the page has no title");
  const h1 = document.querySelectorAll("h1");
  if (h1.length !== 1) problems.push(`${h1.length} h1 elements`);
  if (!document.querySelector("main")) problems.push("no main landmark");
  const controls = document.querySelectorAll(
    "input:not([type=hidden]), select, textarea, button, a[href], summary"
  );
  controls.forEach((el) => {
    if (!nameOf(el)) problems.push(`no accessible name: ${describe(el)}`);
  });
  document.querySelectorAll("svg").forEach((svg) => {
    if (svg.closest("[aria-hidden=true]")) return;
    if (svg.getAttribute("role") !== "img" || !nameOf(svg)) problems.push(`chart without a name: ${describe(svg)}`);
  });
  document.querySelectorAll("img").forEach((img) => {
    if (!img.hasAttribute("alt")) problems.push(`img without alt: ${describe(img)}`);
  });
  document.querySelectorAll("table").forEach((table) => {
    if (!table.querySelector("th")) problems.push(`table without headers: ${describe(table)}`);
  });
  const ids = {};
  document.querySelectorAll("[id]").forEach((el) => { ids[el.id] = (ids[el.id] || 0) + 1; });
  Object.keys(ids).forEach((id) => { if (ids[id] > 1) problems.push(`duplicate id ${id}`); });
  return problems;
}
