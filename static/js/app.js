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
