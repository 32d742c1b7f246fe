// Pixxel Dashboard's own script: deliberately tiny. Everything works without it except live updates.
// Disable a form's submit button while its request is in flight (a double click must not post twice).
// Not for forms htmx sends (hx-post, hx-get): the page stays, so the button would stay disabled.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.matches("[hx-post], [hx-get]")) return;
  for (const button of form.querySelectorAll("button[type=submit]")) {
    // After this event so the button's own name/value is still submitted.
    setTimeout(() => { button.disabled = true; }, 0);
  }
});
// bfcache: a page restored with the back button must have usable buttons again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll("button[type=submit][disabled]")) button.disabled = false;
});
// The submit form: while the job's POST is in flight (Pixxel may take 30 s), say so and count the
// seconds; htmx disables the form's buttons (hx-disabled-elt), the panel's swap ends it all.
document.addEventListener("htmx:beforeRequest", (event) => {
  const form = event.detail.elt;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("submit-form")) return;
  const progress = form.querySelector("#submit-progress");
  if (!progress) return;
  const elapsed = progress.querySelector(".elapsed");
  const started = Date.now();
  progress.hidden = false;
  const timer = setInterval(() => {
    if (!progress.isConnected) stop();  // the panel was swapped out
    elapsed.textContent = `${Math.floor((Date.now() - started) / 1000)} s`;
  }, 250);
  const stop = () => {
    clearInterval(timer);
    progress.hidden = true;
    elapsed.textContent = "0 s";
    form.removeEventListener("htmx:afterRequest", stop);
  };
  form.addEventListener("htmx:afterRequest", stop);
});
// Focus stays where the person left it. A live update (a poll's out-of-band swap) may replace the
// element that has focus, and a button htmx disables during its request loses focus: either drops
// focus to <body>. htmx itself refocuses an element with the same id; for the others, the control
// in the same place is found again here: same tag, href, name and class under the same nearest
// ancestor with an id, by position among its kind. Focus someone moved elsewhere is never touched.
let lastFocused = null;
document.addEventListener("focusin", (event) => { lastFocused = event.target; });
document.addEventListener("focusout", (event) => {
  const el = event.target;
  // A blur the person made (a click on the page's background), not one a swap or a disabled
  // button caused: nothing to give back.
  setTimeout(() => {
    if (lastFocused === el && el.isConnected && !el.disabled && !hasFocus()) lastFocused = null;
  }, 0);
});
function hasFocus() {
  return document.activeElement && document.activeElement !== document.body;
}
function kindOf(el) {
  const cls = el.getAttribute("class") || "";
  return [el.localName, el.getAttribute("href"), el.getAttribute("name"), cls].join("\u0000");
}
function sameKind(root, el) {
  const kind = kindOf(el);
  return [...root.querySelectorAll(el.localName)].filter((c) => kindOf(c) === kind);
}
function replacementOf(el) {
  if (el.id) return document.getElementById(el.id);
  const holder = el.parentElement && el.parentElement.closest("[id]");
  const place = holder ? document.getElementById(holder.id) : null;
  if (!holder || !place) return null;
  const index = sameKind(holder, el).indexOf(el);
  return sameKind(place, el)[index] || null;
}
function giveFocusBack() {
  const el = lastFocused;
  if (!el || hasFocus()) return;
  const target = el.isConnected ? el : replacementOf(el);
  if (target && target.isConnected && !target.disabled) target.focus({ preventScroll: true });
}
for (const name of ["htmx:afterRequest", "htmx:oobAfterSwap", "htmx:afterSwap", "htmx:afterSettle"]) {
  document.addEventListener(name, giveFocusBack);
}
