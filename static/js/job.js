// The live job page. Everything on it works without this file except pausing while hidden.
// Our CSP forbids eval, so htmx's `hx-trigger="every 3s [filter]"` cannot pause polling; instead the
// poller (`[data-job-poll]`, `hx-trigger="every 3s, visibilitychange from:document"`) asks here
// first: no request while the tab is hidden, and one at once when it becomes visible again.
document.addEventListener("htmx:confirm", (event) => {
  if (document.hidden && event.target.closest && event.target.closest("[data-job-poll]")) {
    event.preventDefault();
  }
});

// Polls replace the task list; keep each <details> the person opened or closed as they left it.
const detailsState = new Map();
document.addEventListener("toggle", (event) => {
  const el = event.target;
  if (el instanceof HTMLDetailsElement && el.id) detailsState.set(el.id, el.open);
}, true);
document.addEventListener("htmx:load", (event) => {
  const root = event.detail && event.detail.elt;
  if (!(root instanceof Element)) return;
  const found = root.matches("details[id]") ? [root] : [];
  for (const el of [...found, ...root.querySelectorAll("details[id]")]) {
    if (detailsState.has(el.id)) el.open = detailsState.get(el.id);
  }
});

// A wide graph scrolls sideways: start it centred (where the layout centres its narrow layers),
// and when a poll redraws it, keep it where the person scrolled it.
let graphScrollLeft = null;
function placeGraph(root) {
  for (const box of root.querySelectorAll(".graph-scroll")) {
    let placing = true;
    box.scrollLeft = graphScrollLeft ?? (box.scrollWidth - box.clientWidth) / 2;
    requestAnimationFrame(() => { placing = false; });
    box.addEventListener("scroll", () => {
      if (!placing) graphScrollLeft = box.scrollLeft;
    }, { passive: true });
  }
}
document.addEventListener("DOMContentLoaded", () => placeGraph(document));
document.addEventListener("htmx:load", (event) => {
  const root = event.detail && event.detail.elt;
  if (root instanceof Element) placeGraph(root);
});

// "Updated from Pixxel 12s ago" keeps counting between polls (an unchanged poll re-renders
// nothing): each <time data-ago> is re-worded from its datetime, in Pixxel's duration form.
function formatAgo(seconds) {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  return (h ? `${h}h${m}m${s}s` : m ? `${m}m${s}s` : `${s}s`) + " ago";
}
setInterval(() => {
  for (const el of document.querySelectorAll("time[data-ago]")) {
    const at = Date.parse(el.getAttribute("datetime"));
    if (!Number.isNaN(at)) el.textContent = formatAgo((Date.now() - at) / 1000);
  }
}, 1000);
