// Pixxel Dashboard's own script: deliberately tiny. Everything works without it except live updates.
// Disable a form's submit button while its request is in flight (a double click must not post twice).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.hasAttribute("hx-post")) return;
  for (const button of form.querySelectorAll("button[type=submit]")) {
    // After this event so the button's own name/value is still submitted.
    setTimeout(() => { button.disabled = true; }, 0);
  }
});
// bfcache: a page restored with the back button must have usable buttons again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll("button[type=submit][disabled]")) button.disabled = false;
});
